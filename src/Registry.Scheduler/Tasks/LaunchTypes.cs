namespace Registry.Scheduler.Tasks;

/// <summary>
/// Where a task runs. EC2: on the cluster's container instances, which users see and may name.
/// FARGATE: on the cluster's capacity agents (instances registered with the attribute
/// <see cref="CapacityAttribute"/> = <see cref="Fargate"/>), picked by the scheduler; users give only
/// the task definition and never see or name the instance.
/// </summary>
public static class LaunchTypes
{
    public const string Ec2 = "EC2";
    public const string Fargate = "FARGATE";

    /// <summary>On a Kubernetes cluster (configured with a kubeconfig): Pods and Deployments, no agents.</summary>
    public const string Kubernetes = "KUBERNETES";

    /// <summary>The instance attribute that puts an agent in the cluster's FARGATE capacity pool.</summary>
    public const string CapacityAttribute = "registry.capacity";

    /// <summary>Whether an instance with these attributes is FARGATE capacity.</summary>
    public static bool IsFargateCapacity(IReadOnlyDictionary<string, string?> attributes) =>
        attributes.TryGetValue(CapacityAttribute, out var value) && value == Fargate;
}
