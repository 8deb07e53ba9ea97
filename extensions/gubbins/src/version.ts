// The oldest client gubbins' API accepts (its `diracx.min_client_version` entry, over core's).
export const MIN_CLIENT_VERSION = "0.0.1a1";
