namespace Registry.Data.Entities;

/// <summary>One ECS task: a task definition placed on a container instance and its way to STOPPED.</summary>
public sealed class TaskEntity
{
    public long Id { get; set; }

    /// <summary>The id in the task's ARN (<c>task/&lt;cluster&gt;/&lt;id&gt;</c>): 32 hex digits.</summary>
    public required string TaskId { get; set; }

    public long ClusterId { get; set; }

    /// <summary>The instance it was placed on; null for a task that has not been placed.</summary>
    public long? ContainerInstanceId { get; set; }

    public long TaskDefinitionId { get; set; }

    public required string Group { get; set; }

    /// <summary><c>EC2</c> (on the cluster's container instances) or <c>FARGATE</c> (on its capacity agents).</summary>
    public string LaunchType { get; set; } = "EC2";

    public string? StartedBy { get; set; }

    public required string LastStatus { get; set; }

    public required string DesiredStatus { get; set; }

    public string? StopCode { get; set; }

    public string? StoppedReason { get; set; }

    /// <summary>CPU units and MiB of memory the task holds on its instance until it stops.</summary>
    public int Cpu { get; set; }

    public int Memory { get; set; }

    /// <summary>Host ports the task holds (static port mappings), comma-separated.</summary>
    public required string HostPorts { get; set; }

    /// <summary>RunTask's overrides (containerOverrides: command, environment, cpu, memory) as JSON.</summary>
    public required string Overrides { get; set; }

    /// <summary>The containers' state as JSON: name, image, essential, lastStatus, exitCode, reason, runtimeId, networkBindings.</summary>
    public required string Containers { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? PullStartedAt { get; set; }

    public DateTime? PullStoppedAt { get; set; }

    public DateTime? StartedAt { get; set; }

    public DateTime? StoppingAt { get; set; }

    public DateTime? ExecutionStoppedAt { get; set; }

    public DateTime? StoppedAt { get; set; }

    /// <summary>
    /// Set while a load-balanced task is deregistered before it stops: the balancer sends it nothing new
    /// and its agent is told to stop it only once this time has passed (connection draining).
    /// </summary>
    public DateTime? DrainingUntil { get; set; }

    /// <summary>The load balancer's view of the task (<c>initial</c>, <c>healthy</c>, <c>unhealthy</c>); null when no balancer has checked it.</summary>
    public string? TargetHealth { get; set; }

    /// <summary>Raised on every change, as ECS's <c>version</c>.</summary>
    public long Version { get; set; }
}
