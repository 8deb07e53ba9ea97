// DIRAC security properties. An extension adds its own through `diracx` → `properties_module`
// (a module exporting string constants); anything else found in the configuration is reported.
import { CORE_GROUP } from "../registry/groups.ts";
import type { Registry } from "../registry/index.ts";
import type { DiracxConfig } from "../config/schema.ts";

export const Properties = {
  NormalUser: "NormalUser",
  GenericPilot: "GenericPilot",
  JobAdministrator: "JobAdministrator",
  ServiceAdministrator: "ServiceAdministrator",
  Operator: "Operator",
  ProductionManagement: "ProductionManagement",
  ProxyManagement: "ProxyManagement",
  TrustedHost: "TrustedHost",
  JobSharing: "JobSharing",
  FileCatalogManagement: "FileCatalogManagement",
  SiteManager: "SiteManager",
  CSAdministrator: "CSAdministrator",
  AlarmsManagement: "AlarmsManagement",
  Pilot: "Pilot",
  LimitedDelegation: "LimitedDelegation",
  PrivateLimitedDelegation: "PrivateLimitedDelegation",
  BankingManagement: "BankingManagement",
  StageAllowed: "StageAllowed",
  VmRpcOperation: "VmRpcOperation",
} as const;

export const PROPERTIES_MODULE_ENTRY = "properties_module";

/** Core's properties plus every string export of the active `properties_module` (an extension's). */
export async function knownProperties(registry: Registry): Promise<Set<string>> {
  const known = new Set<string>(Object.values(Properties));
  for (const ep of registry.candidates(CORE_GROUP, PROPERTIES_MODULE_ENTRY)) {
    const mod = await registry.load<Record<string, unknown>>(ep);
    for (const v of Object.values(mod)) if (typeof v === "string") known.add(v);
  }
  return known;
}

/** `Registry.<vo>.Groups.<group>.Properties` entries that no module defines, as `path: property`. */
export function unknownProperties(config: DiracxConfig, known: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const [vo, reg] of Object.entries(config.Registry ?? {})) {
    for (const [group, g] of Object.entries(reg.Groups ?? {})) {
      for (const p of g.Properties ?? []) if (!known.has(p)) out.push(`Registry.${vo}.Groups.${group}.Properties: ${p}`);
    }
  }
  return out;
}
