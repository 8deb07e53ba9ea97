// Gubbins' own DIRAC security property (`diracx` → `properties_module`).
export const GUBBINS_SENSEI = "GubbinsSensei";
