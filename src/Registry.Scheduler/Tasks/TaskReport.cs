namespace Registry.Scheduler.Tasks;

/// <summary>What an agent reports about a task (ECS's SubmitTaskStateChange, containers included).</summary>
public sealed record TaskReport(
    string Status,
    string? Reason,
    IReadOnlyList<ContainerReport> Containers,
    DateTime? PullStartedAt = null,
    DateTime? PullStoppedAt = null,
    DateTime? ExecutionStoppedAt = null);

/// <summary>One container's state in a <see cref="TaskReport"/>.</summary>
public sealed record ContainerReport(
    string Name,
    string Status,
    int? ExitCode = null,
    string? Reason = null,
    string? RuntimeId = null,
    IReadOnlyList<NetworkBinding>? NetworkBindings = null,
    string? LogTail = null,
    string? HealthStatus = null);
