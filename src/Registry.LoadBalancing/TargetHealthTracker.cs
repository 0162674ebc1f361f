namespace Registry.LoadBalancing;

/// <summary>A target's health as the balancer sees it, in ALB's words.</summary>
public enum TargetHealthState
{
    /// <summary>Registered, not yet passed its checks: gets no requests.</summary>
    Initial,
    Healthy,
    Unhealthy,
}

/// <summary>
/// Turns check results into a state with ALB's thresholds: <c>healthy</c> after that many consecutive
/// passes, <c>unhealthy</c> after that many consecutive failures; one result the other way resets the count.
/// </summary>
public sealed class TargetHealthTracker(int healthyThreshold, int unhealthyThreshold, TargetHealthState initial = TargetHealthState.Initial)
{
    private int _passes;
    private int _failures;

    public TargetHealthState State { get; private set; } = initial;

    /// <summary>Counts one check (or one failed forward); true when the state changed.</summary>
    public bool Record(bool passed)
    {
        (_passes, _failures) = passed ? (_passes + 1, 0) : (0, _failures + 1);
        var next = passed && _passes >= healthyThreshold ? TargetHealthState.Healthy
            : !passed && _failures >= unhealthyThreshold ? TargetHealthState.Unhealthy
            : State;
        var changed = next != State;
        State = next;
        return changed;
    }

    /// <summary>The word stored on the task and shown to users.</summary>
    public static string Describe(TargetHealthState state) => state.ToString().ToLowerInvariant();
}
