using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Registry.AwsApi;
using Registry.Data.Entities;
using Registry.Scheduler.Services;

namespace Registry.Ecs;

/// <summary>
/// A service's loadBalancers: target groups of the built-in balancer (configured under
/// <c>LoadBalancer:TargetGroups</c>), named by ARN as ECS names ALB target groups, each with the
/// container and port that receive its requests.
/// </summary>
internal sealed partial class EcsService
{
    /// <summary>The request's loadBalancers checked against the configured groups and the task definition; null when not given.</summary>
    private List<ServiceLoadBalancer>? ReadLoadBalancers(AwsCall call)
    {
        if (!call.Body.TryGetProperty("loadBalancers", out var given) || given.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var loadBalancers = new List<ServiceLoadBalancer>();
        foreach (var entry in call.Array("loadBalancers", required: false))
        {
            if (Text(entry, "loadBalancerName") is not null)
            {
                throw AwsApiException.InvalidParameter("Classic Load Balancers are not available here: give the targetGroupArn of a target group of the built-in load balancer.");
            }

            var arn = Text(entry, "targetGroupArn") ?? throw AwsApiException.InvalidParameter("loadBalancers need a targetGroupArn");
            var match = TargetGroupArnPattern().Match(arn);
            if (!match.Success)
            {
                throw AwsApiException.InvalidParameter($"targetGroupArn {arn} is not a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>).");
            }

            var name = match.Groups["name"].Value;
            if (!targetGroups.ByName.ContainsKey(name))
            {
                throw AwsApiException.InvalidParameter($"The target group {name} does not exist: target groups are configured under LoadBalancer:TargetGroups (configured here: {(targetGroups.ByName.Count == 0 ? "none" : string.Join(", ", targetGroups.ByName.Keys))}).");
            }

            var container = Text(entry, "containerName") ?? throw AwsApiException.InvalidParameter("loadBalancers need a containerName");
            var port = NonNegative(entry, "containerPort") is { } p and > 0 and <= 65535 ? p : throw AwsApiException.InvalidParameter("loadBalancers need a containerPort from 1 to 65535");
            loadBalancers.Add(new ServiceLoadBalancer(name, container, port));
        }

        if (loadBalancers.Count > 5)
        {
            throw AwsApiException.InvalidParameter("A service can have at most 5 target groups.");
        }

        return loadBalancers;
    }

    /// <summary>ECS's checks of loadBalancers against the task definition the service runs.</summary>
    private static void RequireLoadBalancersFit(List<ServiceLoadBalancer> loadBalancers, TaskDefinitionEntity definition)
    {
        if (loadBalancers.Count == 0)
        {
            return;
        }

        var document = JsonNode.Parse(definition.Document)!;
        var networkMode = (string?)document["networkMode"] ?? "bridge";
        if (networkMode is not ("bridge" or "host" or "awsvpc"))
        {
            throw AwsApiException.InvalidParameter($"Task definition {definition.Family}:{definition.Revision} has networkMode {networkMode}: a load-balanced service needs bridge, host or awsvpc.");
        }

        foreach (var lb in loadBalancers)
        {
            var container = (document["containerDefinitions"] as JsonArray ?? []).FirstOrDefault(c => (string?)c?["name"] == lb.ContainerName)
                ?? throw AwsApiException.InvalidParameter($"The container {lb.ContainerName} does not exist in the task definition.");
            if (!(container["portMappings"] as JsonArray ?? []).Any(m => (int?)m?["containerPort"] == lb.ContainerPort))
            {
                throw AwsApiException.InvalidParameter($"The container {lb.ContainerName} did not have a container port {lb.ContainerPort} defined.");
            }
        }
    }

    /// <summary>How long a task of the service is drained before it stops: the longest deregistration delay of its groups.</summary>
    private TimeSpan DrainDelay(IEnumerable<ServiceLoadBalancer> loadBalancers) =>
        loadBalancers.Select(lb => targetGroups.ByName.TryGetValue(lb.TargetGroup, out var group) ? group.Options.DeregistrationDelay : TimeSpan.Zero)
            .DefaultIfEmpty(TimeSpan.Zero).Max();

    private IEnumerable<object> DescribeLoadBalancers(string json) =>
        ServiceLoadBalancer.ReadAll(json).Select(lb => new { targetGroupArn = TargetGroupArn(lb.TargetGroup), containerName = lb.ContainerName, containerPort = lb.ContainerPort });

    /// <summary>The group's ARN; its id is derived from the name, so the ARN stays the same across restarts and replicas.</summary>
    private string TargetGroupArn(string name) =>
        $"arn:aws:elasticloadbalancing:{Aws.Region}:{Aws.AccountId}:targetgroup/{name}/{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..16]}";

    [GeneratedRegex("^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]*:[0-9]*:targetgroup/(?<name>[A-Za-z0-9-]{1,32})(/[0-9a-f]+)?$")]
    private static partial Regex TargetGroupArnPattern();
}
