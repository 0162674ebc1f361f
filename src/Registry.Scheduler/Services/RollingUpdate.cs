namespace Registry.Scheduler.Services;

/// <summary>
/// A task of a service, as the service scheduler weighs it: which deployment started it, whether it
/// serves (RUNNING and not UNHEALTHY; HEALTHY when its containers have health checks) and its age.
/// </summary>
public sealed record ServiceTask(string TaskId, string DeploymentId, bool Healthy, DateTime CreatedAt);

/// <summary>
/// A service's deployment configuration applied to its desired count: at least
/// <see cref="MinimumHealthy"/> healthy tasks (minimumHealthyPercent, rounded up) and at most
/// <see cref="MaximumTotal"/> tasks in all (maximumPercent, rounded down), as ECS rounds them.
/// </summary>
public sealed record DeploymentLimits(int DesiredCount, int MinimumHealthyPercent, int MaximumPercent)
{
    public int MinimumHealthy => (int)Math.Ceiling(DesiredCount * MinimumHealthyPercent / 100.0);

    public int MaximumTotal => DesiredCount * MaximumPercent / 100;
}

/// <summary>One step of the service scheduler: how many tasks of the primary deployment to start, and which tasks to stop.</summary>
public sealed record RollingStep(int Start, IReadOnlyList<string> Stop);

/// <summary>
/// The rolling update ECS does: the primary deployment grows to the desired count while the older
/// deployments' tasks are stopped, never leaving fewer healthy tasks than the minimum nor running more
/// than the maximum. Scaling in and replacing failed tasks are the same step with one deployment.
/// </summary>
public static class RollingUpdate
{
    /// <summary>
    /// The next step for <paramref name="tasks"/>, the service's tasks meant to run (desired status
    /// RUNNING); with <paramref name="canStart"/> false (the primary deployment failed) nothing more is started.
    /// </summary>
    public static RollingStep Next(DeploymentLimits limits, string primaryDeploymentId, IReadOnlyList<ServiceTask> tasks, bool canStart = true)
    {
        var primary = tasks.Where(t => t.DeploymentId == primaryDeploymentId).ToList();
        var old = tasks.Where(t => t.DeploymentId != primaryDeploymentId).ToList();
        var stop = new List<ServiceTask>();

        // Old tasks that serve nobody go at once; so do primary tasks beyond the desired count, the
        // ones not serving yet and then the newest first.
        stop.AddRange(old.Where(t => !t.Healthy));
        stop.AddRange(primary.OrderBy(t => t.Healthy).ThenByDescending(t => t.CreatedAt).Take(Math.Max(0, primary.Count - limits.DesiredCount)));

        var healthy = tasks.Count(t => t.Healthy) - stop.Count(t => t.Healthy);
        var oldServing = old.Where(t => t.Healthy).OrderBy(t => t.CreatedAt).ToList();
        stop.AddRange(oldServing.Take(Math.Max(0, healthy - limits.MinimumHealthy)));

        var primaryKept = Math.Min(primary.Count, limits.DesiredCount);
        var total = tasks.Count - stop.Count;
        var start = canStart ? Math.Max(0, Math.Min(limits.DesiredCount - primaryKept, limits.MaximumTotal - total)) : 0;

        // With no room to start one, no healthy task to spare and no new task on its way (a desired
        // count of 1 at 100 % and 100 %, say), the maximum wins: one old task goes so that the
        // deployment can move.
        var oldLeft = oldServing.Except(stop).ToList();
        if (canStart && start == 0 && primaryKept < limits.DesiredCount && primary.All(t => t.Healthy) && oldLeft.Count > 0 && total >= limits.MaximumTotal)
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
}
