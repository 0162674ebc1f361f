using System.Text.Json;

namespace Registry.Scheduler.Services;

/// <summary>The statuses and rollout states ECS reports for a service and its deployments.</summary>
public static class ServiceStatuses
{
    public const string Active = "ACTIVE";
    public const string Draining = "DRAINING";
    public const string Inactive = "INACTIVE";

    public const string Primary = "PRIMARY";

    public const string InProgress = "IN_PROGRESS";
    public const string Completed = "COMPLETED";
    public const string Failed = "FAILED";

    private const string GroupPrefix = "service:";

    /// <summary>The group ECS gives a service's tasks.</summary>
    public static string Group(string serviceName) => GroupPrefix + serviceName;

    /// <summary>The service whose group <paramref name="group"/> is; null for a group of tasks run on their own.</summary>
    public static string? ServiceOf(string group) => group.StartsWith(GroupPrefix, StringComparison.Ordinal) ? group[GroupPrefix.Length..] : null;
}

/// <summary>
/// One deployment of a service: a task definition rolled out to the desired count. The newest is
/// PRIMARY; older ones are ACTIVE until their last task has stopped. Its id is what its tasks carry as
/// startedBy, as in ECS (<c>ecs-svc/</c> and 19 digits). <see cref="Rollback"/> marks one the circuit
/// breaker started to go back: if it fails too, nothing rolls back again.
/// </summary>
public sealed record ServiceDeployment(string Id, long TaskDefinitionId, string Status, string RolloutState, string? RolloutStateReason, DateTime CreatedAt, DateTime UpdatedAt, bool Rollback = false)
{
    public static string NewId() => "ecs-svc/" + string.Concat(Enumerable.Range(0, 19).Select(i => (char)('0' + Random.Shared.Next(i == 0 ? 1 : 0, 10))));

    public static List<ServiceDeployment> ReadAll(string json) => JsonSerializer.Deserialize<List<ServiceDeployment>>(json) ?? [];

    public static string WriteAll(IEnumerable<ServiceDeployment> deployments) => JsonSerializer.Serialize(deployments);
}

/// <summary>A service event, as ECS lists them: newest first, the last <see cref="Kept"/> kept.</summary>
public sealed record ServiceEvent(string Id, DateTime CreatedAt, string Message)
{
    public const int Kept = 100;

    public static List<ServiceEvent> ReadAll(string json) => JsonSerializer.Deserialize<List<ServiceEvent>>(json) ?? [];

    /// <summary>The events with <paramref name="message"/> first, unless it is the newest already (a state that persists is told once).</summary>
    public static string Add(string json, string message, DateTime now)
    {
        var events = ReadAll(json);
        if (events.Count > 0 && events[0].Message == message)
        {
            return json;
        }

        events.Insert(0, new ServiceEvent(Guid.NewGuid().ToString("D"), now, message));
        return JsonSerializer.Serialize(events.Take(Kept));
    }
}

/// <summary>
/// One of a service's loadBalancers: the target group (by name) its tasks join, and the container and
/// container port that receive the group's requests. Stored as JSON on the service.
/// </summary>
public sealed record ServiceLoadBalancer(string TargetGroup, string ContainerName, int ContainerPort)
{
    public static List<ServiceLoadBalancer> ReadAll(string json) => JsonSerializer.Deserialize<List<ServiceLoadBalancer>>(json) ?? [];

    public static string WriteAll(IEnumerable<ServiceLoadBalancer> loadBalancers) => JsonSerializer.Serialize(loadBalancers);
}
