import fs from "node:fs/promises";
import path from "node:path";
import { Document } from "yaml";

/*
 * The DiracX configuration `diracx-tasks dev` runs with when DIRACX_CONFIG_BACKEND_URL is
 * not set: two VOs with groups and users, so per-VO periodic tasks fan out visibly, and an
 * OSCompatibility table so job optimisation finds platforms. Written once into the dev data
 * directory and then left alone, so a user can edit it and watch hot reload pick it up.
 */

interface DemoUser {
  PreferedUsername: string;
  Email: string;
  DNs: string[];
}
interface DemoGroup {
  Properties: string[];
  Users: string[];
  JobShare?: number;
  AllowBackgroundTQs?: boolean;
}
interface DemoVO {
  DefaultGroup: string;
  IdP: { URL: string; ClientID: string };
  Support: { Email: string; Message: string; Webpage: string };
  Users: Record<string, DemoUser>;
  Groups: Record<string, DemoGroup>;
}
export interface DemoConfig {
  DIRAC: Record<string, never>;
  Registry: Record<string, DemoVO>;
  Operations: Record<string, unknown>;
  Resources: { Computing: { OSCompatibility: Record<string, string[]> } };
}

// Stable subjects (as an IdP would issue them) so job owners stay the same across dev runs.
const SUB = {
  alice: "b824d4dc-1f9d-4ee8-8df5-c0ae55d46041",
  bob: "c935e5ed-2fae-4ff9-9e06-d1bf66e57152",
  carol: "d046f6fe-3ab1-4aa0-af17-e2c077f68263",
  dave: "e157a70f-4bc2-4bb1-b028-f3d188a79374",
};

export function demoConfig(): DemoConfig {
  return {
    DIRAC: {},
    Registry: {
      lhcb: {
        DefaultGroup: "lhcb_user",
        IdP: { URL: "https://idp.example.invalid/lhcb", ClientID: "diracx-dev-lhcb" },
        Support: { Email: "lhcb-support@example.invalid", Message: "Demo VO for diracx-tasks dev", Webpage: "https://example.invalid/lhcb" },
        Users: {
          [SUB.alice]: { PreferedUsername: "alice", Email: "alice@example.invalid", DNs: ["/DC=ch/DC=cern/OU=Users/CN=alice"] },
          [SUB.bob]: { PreferedUsername: "bob", Email: "bob@example.invalid", DNs: ["/DC=ch/DC=cern/OU=Users/CN=bob"] },
        },
        Groups: {
          lhcb_user: { Properties: ["NormalUser"], Users: [SUB.alice, SUB.bob], JobShare: 1000 },
          lhcb_prod: { Properties: ["NormalUser", "ProductionManagement"], Users: [SUB.alice], JobShare: 3000, AllowBackgroundTQs: true },
          lhcb_admin: { Properties: ["ServiceAdministrator", "JobAdministrator"], Users: [SUB.bob] },
        },
      },
      gridpp: {
        DefaultGroup: "gridpp_user",
        IdP: { URL: "https://idp.example.invalid/gridpp", ClientID: "diracx-dev-gridpp" },
        Support: { Email: "gridpp-support@example.invalid", Message: "Demo VO for diracx-tasks dev", Webpage: "https://example.invalid/gridpp" },
        Users: {
          [SUB.carol]: { PreferedUsername: "carol", Email: "carol@example.invalid", DNs: [] },
          [SUB.dave]: { PreferedUsername: "dave", Email: "dave@example.invalid", DNs: [] },
        },
        Groups: {
          gridpp_user: { Properties: ["NormalUser"], Users: [SUB.carol, SUB.dave], JobShare: 1000 },
          gridpp_admin: { Properties: ["ServiceAdministrator", "JobAdministrator"], Users: [SUB.carol] },
        },
      },
    },
    Operations: {
      Defaults: {
        Services: { JobScheduling: { EnableSharesCorrection: false, MaxRescheduling: 3 } },
        JobDescription: { DefaultCPUTime: 86400, AllowedJobTypes: ["User", "Test", "MCSimulation"] },
      },
      gridpp: { Services: { JobScheduling: { MaxRescheduling: 5 } } },
    },
    Resources: {
      Computing: {
        // Requested platform → the platforms a job for it can also run on.
        OSCompatibility: {
          "x86_64-el9": ["x86_64-el9", "x86_64-el8"],
          "x86_64-el8": ["x86_64-el8", "x86_64-centos7"],
          "x86_64-centos7": ["x86_64-centos7", "x86_64-slc6"],
          "aarch64-el9": ["aarch64-el9"],
        },
      },
    },
  };
}

export function demoConfigYaml(): string {
  const doc = new Document(demoConfig());
  doc.commentBefore =
    " Demo DiracX configuration written by `diracx-tasks dev`. Edit it freely: the running\n" +
    " system reloads it. Point DIRACX_CONFIG_BACKEND_URL elsewhere to use a real one.";
  return doc.toString({ lineWidth: 0 });
}

/**
 * Writes the demo configuration as `<dataDir>/config/default.yml` unless a file is already
 * there (the user's edits win), and returns its path for DIRACX_CONFIG_BACKEND_URL.
 */
export async function writeDemoConfig(dataDir: string, opts: { overwrite?: boolean } = {}): Promise<string> {
  const file = path.join(path.resolve(dataDir), "config", "default.yml");
  await fs.mkdir(path.dirname(file), { recursive: true });
  try {
    await fs.writeFile(file, demoConfigYaml(), { flag: opts.overwrite ? "w" : "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return file;
}
