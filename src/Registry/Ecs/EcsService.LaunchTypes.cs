using System.Text.Json.Nodes;
using Registry.AwsApi;
using Registry.Data.Entities;
using Registry.Scheduler.Tasks;

namespace Registry.Ecs;

/// <summary>
/// Launch types (see <see cref="LaunchTypes"/>): EC2 on the cluster's container instances, FARGATE on
/// its capacity agents, KUBERNETES on a Kubernetes cluster when one is configured. A FARGATE task definition is one ECS would take: compatible with FARGATE, with
/// task-level cpu and memory, and networkMode awsvpc (run as its own network namespace on Docker's
/// bridge: there are no VPC subnets here) or bridge.
/// </summary>
internal sealed partial class EcsService
{
    private string ReadLaunchType(AwsCall call, TaskDefinitionEntity definition)
    {
        var launchType = call.Optional("launchType") ?? LaunchTypes.Ec2;
        if (launchType == LaunchTypes.Kubernetes && !kubernetes.Value.Enabled)
        {
            throw AwsApiException.InvalidParameter("launchType KUBERNETES needs a Kubernetes cluster: set Kubernetes:Kubeconfig.");
        }

        if (launchType is not (LaunchTypes.Ec2 or LaunchTypes.Fargate or LaunchTypes.Kubernetes))
        {
            throw AwsApiException.InvalidParameter($"launchType {launchType} is not available here: EC2 (the cluster's container instances), FARGATE (its capacity agents) or KUBERNETES (a configured Kubernetes cluster).");
        }

        if (call.Body.TryGetProperty("capacityProviderStrategy", out var strategy) && strategy.ValueKind == System.Text.Json.JsonValueKind.Array && strategy.GetArrayLength() > 0)
        {
            throw AwsApiException.InvalidParameter("capacityProviderStrategy is not available here: give launchType EC2 or FARGATE.");
        }

        RequireCompatible(definition, launchType);
        return launchType;
    }

    /// <summary>ECS's checks of a task definition against the launch type it is to run with.</summary>
    private void RequireCompatible(TaskDefinitionEntity definition, string launchType, TaskOverrides? overrides = null)
    {
        if (launchType == LaunchTypes.Kubernetes)
        {
            RequirePodSpec(definition, overrides ?? TaskOverrides.Read(null));
            return;
        }

        if (launchType != LaunchTypes.Fargate)
        {
            return;
        }

        var document = JsonNode.Parse(definition.Document)!;
        var name = $"{definition.Family}:{definition.Revision}";
        if (!(document["requiresCompatibilities"] as JsonArray ?? []).Any(c => (string?)c == LaunchTypes.Fargate))
        {
            throw new AwsApiException("ClientException", $"Task definition {name} does not support launch_type FARGATE.");
        }

        if (document["cpu"] is null || document["memory"] is null)
        {
            throw new AwsApiException("ClientException", $"Task definition {name}: Fargate requires task-level cpu and memory.");
        }

        if ((string?)document["networkMode"] is not ("awsvpc" or "bridge"))
        {
            throw new AwsApiException("ClientException", $"Task definition {name}: Fargate only supports network mode 'awsvpc' (or 'bridge' here).");
        }
    }

    /// <summary>Why nothing could be placed when the cluster has no instance of the launch type.</summary>
    private static string NoCapacity(string launchType) => launchType == LaunchTypes.Fargate
        ? $"No FARGATE capacity was found in your cluster: register agents with the attribute {LaunchTypes.CapacityAttribute}={LaunchTypes.Fargate}."
        : "No Container Instances were found in your cluster.";

    /// <summary>
    /// The task definition as the agent runs it: awsvpc, which needs VPC networking, runs on Docker's
    /// bridge, where each task also gets a network namespace of its own, its ports published on dynamic
    /// host ports (so copies share an agent as awsvpc tasks share a host).
    /// </summary>
    private static JsonObject ForAgent(JsonObject definition)
    {
        if ((string?)definition["networkMode"] != "awsvpc")
        {
            return definition;
        }

        definition["networkMode"] = "bridge";
        foreach (var mapping in (definition["containerDefinitions"] as JsonArray ?? []).SelectMany(c => c?["portMappings"] as JsonArray ?? []).OfType<JsonObject>())
        {
            mapping["hostPort"] = 0;
        }

        return definition;
    }
}
