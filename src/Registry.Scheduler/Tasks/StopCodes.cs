namespace Registry.Scheduler.Tasks;

/// <summary>ECS's stop codes: why a task reached STOPPED.</summary>
public static class StopCodes
{
    public const string TaskFailedToStart = "TaskFailedToStart";
    public const string EssentialContainerExited = "EssentialContainerExited";
    public const string UserInitiated = "UserInitiated";

    /// <summary>A service's scheduler stopped the task: scaled in, or replaced by a deployment.</summary>
    public const string ServiceSchedulerInitiated = "ServiceSchedulerInitiated";

    /// <summary>
    /// The instance the task ran on stopped answering (ECS uses it when the host goes away); the
    /// stopped reason says the agent missed its heartbeats.
    /// </summary>
    public const string TerminationNotice = "TerminationNotice";
}
