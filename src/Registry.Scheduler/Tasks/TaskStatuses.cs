namespace Registry.Scheduler.Tasks;

/// <summary>
/// The statuses ECS reports for a task, in the only order a task passes through them. A task may skip
/// statuses (a task that fails to start goes from PENDING to STOPPED) but never goes back.
/// </summary>
public static class TaskStatuses
{
    public const string Provisioning = "PROVISIONING";
    public const string Pending = "PENDING";
    public const string Activating = "ACTIVATING";
    public const string Running = "RUNNING";
    public const string Deactivating = "DEACTIVATING";
    public const string Stopping = "STOPPING";
    public const string Deprovisioning = "DEPROVISIONING";
    public const string Stopped = "STOPPED";

    private static readonly string[] Order = [Provisioning, Pending, Activating, Running, Deactivating, Stopping, Deprovisioning, Stopped];

    /// <summary>The position of <paramref name="status"/> in the lifecycle, or -1 for a status ECS does not have.</summary>
    public static int Rank(string status) => Array.IndexOf(Order, status);

    public static bool IsKnown(string status) => Rank(status) >= 0;

    /// <summary>Whether a task in <paramref name="status"/> holds its instance's resources: from placement until it has stopped.</summary>
    public static bool HoldsResources(string status) => status != Stopped;
}
