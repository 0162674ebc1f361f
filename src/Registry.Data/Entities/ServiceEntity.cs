namespace Registry.Data.Entities;

/// <summary>
/// An ECS service: a task definition kept at a desired count of tasks in a cluster, rolled out to new
/// revisions by deployments. ACTIVE, DRAINING once deleted until its tasks have stopped, then INACTIVE
/// (a new service may then take its name).
/// </summary>
public sealed class ServiceEntity
{
    public long Id { get; set; }

    public long ClusterId { get; set; }

    public required string Name { get; set; }

    public required string Status { get; set; }

    /// <summary>The primary deployment's task definition.</summary>
    public long TaskDefinitionId { get; set; }

    public int DesiredCount { get; set; }

    /// <summary>What the service's tasks are launched as: <c>EC2</c> or <c>FARGATE</c>.</summary>
    public string LaunchType { get; set; } = "EC2";

    public int MinimumHealthyPercent { get; set; }

    public int MaximumPercent { get; set; }

    public bool CircuitBreakerEnabled { get; set; }

    public bool CircuitBreakerRollback { get; set; }

    /// <summary>placementStrategy and placementConstraints as given, JSON arrays.</summary>
    public required string PlacementStrategy { get; set; }

    public required string PlacementConstraints { get; set; }

    /// <summary>The service's target groups (loadBalancers: target group, container name and port) as JSON.</summary>
    public string LoadBalancers { get; set; } = "[]";

    /// <summary>How long after a task starts the balancer's failing health checks do not count against it.</summary>
    public int HealthCheckGracePeriodSeconds { get; set; }

    /// <summary>The deployments (<c>ServiceDeployment</c>), the primary first, as JSON.</summary>
    public required string Deployments { get; set; }

    /// <summary>The latest events (<c>ServiceEvent</c>), newest first, as JSON.</summary>
    public required string Events { get; set; }

    public required string CreatedBy { get; set; }

    public DateTime CreatedAt { get; set; }

    /// <summary>Raised on every change; the scheduler's writes are conditional on it.</summary>
    public long Version { get; set; }
}
