namespace Registry.Ecs;

/// <summary>The control plane's timing (section <c>Scheduler</c>).</summary>
public sealed class SchedulerOptions
{
    public const string SectionName = "Scheduler";

    /// <summary>
    /// An agent silent this long is disconnected and its tasks are reported lost. Agents poll at a third
    /// of it, so a restart of the agent (seconds) loses nothing.
    /// </summary>
    public TimeSpan AgentTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
