namespace Registry.Scheduler.Services;

/// <summary>Where a service task is on its way: not serving yet, serving, or failing its health checks.</summary>
public enum ServiceTaskState
{
    Starting,
    Serving,
    Unhealthy,
}

/// <summary>A task of a service, as the service scheduler weighs it: which deployment started it, its state and its age.</summary>
public sealed record ServiceTask(string TaskId, string DeploymentId, ServiceTaskState State, DateTime CreatedAt)
{
    public bool Serving => State == ServiceTaskState.Serving;
}

/// <summary>
/// A service's deployment configuration applied to its desired count: at least
/// <see cref="MinimumHealthy"/> serving tasks (minimumHealthyPercent, rounded up) and at most
/// <see cref="MaximumTotal"/> tasks in all (maximumPercent, rounded down), as ECS rounds them.
/// </summary>
public sealed record DeploymentLimits(int DesiredCount, int MinimumHealthyPercent, int MaximumPercent)
{
    public int MinimumHealthy => (int)Math.Ceiling(DesiredCount * (long)MinimumHealthyPercent / 100.0);

    public int MaximumTotal => (int)(DesiredCount * (long)MaximumPercent / 100);
}

/// <summary>One step of the service scheduler: how many tasks of the primary deployment to start, and which tasks to stop.</summary>
public sealed record RollingStep(int Start, IReadOnlyList<string> Stop);

/// <summary>
/// The rolling update ECS does: the primary deployment grows to the desired count while the older
/// deployments' tasks are stopped, never leaving fewer serving tasks than the minimum nor running more
/// than the maximum. Scaling in and replacing failed or unhealthy tasks are the same step with one deployment.
/// </summary>
public static class RollingUpdate
{
    /// <summary>
    /// The next step for <paramref name="tasks"/>, the service's tasks meant to run (desired status
    /// RUNNING); with <paramref name="canStart"/> false (the primary deployment failed) nothing more is
    /// started and the old deployments' serving tasks are kept.
    /// </summary>
    public static RollingStep Next(DeploymentLimits limits, string primaryDeploymentId, IReadOnlyList<ServiceTask> tasks, bool canStart = true)
    {
        var primary = tasks.Where(t => t.DeploymentId == primaryDeploymentId && t.State != ServiceTaskState.Unhealthy).ToList();
        var old = tasks.Where(t => t.DeploymentId != primaryDeploymentId).ToList();
        var stop = new List<ServiceTask>();

        // Unhealthy tasks are replaced and old tasks that serve nobody go at once; so do primary tasks
        // beyond the desired count, the ones not serving yet and then the newest first.
        stop.AddRange(tasks.Where(t => t.State == ServiceTaskState.Unhealthy));
        stop.AddRange(old.Where(t => t.State == ServiceTaskState.Starting));
        stop.AddRange(primary.OrderBy(t => t.Serving).ThenByDescending(t => t.CreatedAt).Take(Math.Max(0, primary.Count - limits.DesiredCount)));

        var serving = tasks.Count(t => t.Serving) - stop.Count(t => t.Serving);
        var oldServing = old.Where(t => t.Serving).OrderBy(t => t.CreatedAt).ToList();
        if (canStart || limits.DesiredCount == 0)
        {
            stop.AddRange(oldServing.Take(Math.Max(0, serving - limits.MinimumHealthy)));
        }

        var primaryKept = Math.Min(primary.Count, limits.DesiredCount);
        var total = tasks.Count - stop.Count;
        var start = canStart ? Math.Max(0, Math.Min(limits.DesiredCount - primaryKept, limits.MaximumTotal - total)) : 0;

        // With no room to start one, no serving task to spare and no new task on its way (a desired
        // count of 1 at 100 % and 100 %, say), the maximum wins: one old task goes so that the
        // deployment can move.
        var oldLeft = oldServing.Except(stop).ToList();
        if (canStart && start == 0 && primaryKept < limits.DesiredCount && primary.All(t => t.Serving) && oldLeft.Count > 0 && total >= limits.MaximumTotal)
        {
            stop.Add(oldLeft[0]);
            start = Math.Max(0, Math.Min(limits.DesiredCount - primaryKept, limits.MaximumTotal - (total - 1)));
        }

        return new RollingStep(start, stop.Select(t => t.TaskId).ToList());
    }

    /// <summary>
    /// How many of a deployment's tasks may fail before the circuit breaker fails it: half the desired
    /// count, at least 3 and at most 200, as ECS counts.
    /// </summary>
    public static int FailureThreshold(int desiredCount) => Math.Clamp((int)Math.Ceiling(desiredCount / 2.0), 3, 200);

    /// <summary>
    /// How long to wait after the last start before starting again, once tasks keep failing: nothing
    /// below 3 recent failures, then 10 s doubling per failure up to 15 minutes (ECS throttles a service
    /// that cannot start its tasks in the same way).
    /// </summary>
    public static TimeSpan RestartDelay(int recentFailures) =>
        recentFailures < 3 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(900, 10 * Math.Pow(2, Math.Min(recentFailures - 3, 10))));
}
