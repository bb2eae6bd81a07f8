// Registry answers shaped like the engine's, for the Install page's tests.
import type { RegistryEntry } from "../bindings/RegistryEntry";
import type { VettingReport } from "../bindings/VettingReport";

export function entry(
  name: string,
  version = "1.0.0",
  patch: Partial<RegistryEntry> = {},
): RegistryEntry {
  return {
    server: {
      name,
      description: `${name} does things`,
      title: null,
      version,
      websiteUrl: null,
      repository: null,
      packages: [],
      remotes: [],
    },
    status: "active",
    publishedAt: "2026-11-01T00:00:00Z",
    updatedAt: null,
    isLatest: true,
    statusMessage: null,
    ...patch,
  };
}

export function report(
  patch: Partial<VettingReport> = {},
  ownership: "ok" | "mismatch" = "ok",
): VettingReport {
  return {
    name: "io.github.acme/weather",
    version: "1.2.0",
    title: "Weather",
    description: "Forecasts",
    status: "active",
    status_message: null,
    namespace: {
      namespace: "io.github.acme",
      kind: "github",
      owner: "acme",
      explanation: "verified by signing in to GitHub as acme",
    },
    packages: [
      {
        registry_type: "npm",
        identifier: "@acme/weather",
        version: "1.2.0",
        version_check: { outcome: { kind: "ok" }, explanation: "an exact version" },
        ownership:
          ownership === "ok"
            ? { outcome: { kind: "ok" }, explanation: "package.json mcpName matches" }
            : {
                outcome: { kind: "mismatch", found: "io.github.evil/weather" },
                explanation: "package.json mcpName names io.github.evil/weather",
              },
        checksum: { type: "integrity", value: "sha512-abc" },
        checksum_note: "npm dist.integrity",
        spec: {
          kind: "npm",
          identifier: "@acme/weather",
          version: "1.2.0",
          checksum: { type: "integrity", value: "sha512-abc" },
          file_url: null,
        },
        transport: { type: "stdio", url: null, headers: [] },
        runtime_hint: "npx",
        runtime_arguments: [],
        package_arguments: [],
        environment_variables: [
          {
            name: "WEATHER_KEY",
            description: "API key",
            isRequired: true,
            isSecret: true,
            default: null,
            value: null,
            choices: [],
            format: null,
          },
          {
            name: "UNITS",
            description: null,
            isRequired: false,
            isSecret: false,
            default: "metric",
            value: null,
            choices: [],
            format: null,
          },
        ],
      },
    ],
    remotes: [],
    repository: {
      url: "https://github.com/acme/weather",
      source: "github",
      id: null,
      subfolder: null,
    },
    website_url: null,
    publisher_servers: ["io.github.acme/tides"],
    publisher_error: null,
    ...patch,
  };
}
