using System.Text.Json.Nodes;
using Registry.Agent.Runtimes;

namespace Registry.Agent.Tasks;

/// <summary>
/// The containers of an assigned task as the runtime runs them: the task definition with the task's
/// overrides, over what the agent adds to every container's environment (the task role's credentials URI).
/// </summary>
public static class ContainerSpecs
{
    public static IReadOnlyList<(ContainerSpec Spec, bool Essential)> From(string cluster, string taskArn, JsonObject taskDefinition, JsonObject overrides, IReadOnlyDictionary<string, string>? agentEnvironment = null)
    {
        var networkMode = (string?)taskDefinition["networkMode"] ?? "bridge";
        var containerOverrides = overrides["containerOverrides"] as JsonArray ?? [];
        return taskDefinition["containerDefinitions"]!.AsArray().Select(node =>
        {
            var definition = node!.AsObject();
            var name = (string)definition["name"]!;
            var containerOverride = containerOverrides.FirstOrDefault(o => (string?)o!["name"] == name)?.AsObject();
            var environment = new Dictionary<string, string>(agentEnvironment ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            foreach (var source in new[] { definition["environment"], containerOverride?["environment"] })
            {
                foreach (var pair in source as JsonArray ?? [])
                {
                    environment[(string)pair!["name"]!] = (string?)pair["value"] ?? "";
                }
            }

            var log = definition["logConfiguration"] as JsonObject;
            var spec = new ContainerSpec(
                cluster,
                taskArn,
                name,
                (string)definition["image"]!,
                Strings(definition["entryPoint"]),
                Strings(containerOverride?["command"]) ?? Strings(definition["command"]),
                environment,
                (int?)containerOverride?["memory"] ?? (int?)definition["memory"],
                (int?)containerOverride?["memoryReservation"] ?? (int?)definition["memoryReservation"],
                (int?)containerOverride?["cpu"] ?? (int?)definition["cpu"] ?? 0,
                networkMode,
                (definition["portMappings"] as JsonArray ?? []).Select(p => new PortMapping((int)p!["containerPort"]!, (int?)p["hostPort"] ?? 0, (string?)p["protocol"] ?? "tcp")).ToList(),
                (string?)definition["workingDirectory"],
                (string?)definition["user"],
                (string?)log?["logDriver"],
                (log?["options"] as JsonObject)?.ToDictionary(o => o.Key, o => (string?)o.Value ?? "") ?? [],
                definition["healthCheck"] is JsonObject health
                    ? new HealthCheck(Strings(health["command"])!, (int?)health["interval"] ?? 30, (int?)health["timeout"] ?? 5, (int?)health["retries"] ?? 3, (int?)health["startPeriod"] ?? 0)
                    : null);
            return (spec, (bool?)definition["essential"] ?? true);
        }).ToList();
    }

    private static List<string>? Strings(JsonNode? node) => node is JsonArray array ? array.Select(s => (string)s!).ToList() : null;
}
