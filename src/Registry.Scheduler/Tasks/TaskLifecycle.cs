using Registry.Data.Entities;

namespace Registry.Scheduler.Tasks;

/// <summary>
/// The rules a task's state follows, whoever moves it: a user stopping it, its agent reporting, or the
/// control plane losing the agent. Statuses only move forward; the first reason a task stops with is
/// the one it keeps; every change raises the task's version.
/// </summary>
public static class TaskLifecycle
{
    public const string EssentialContainerExitedReason = "Essential container in task exited";

    /// <summary>StopTask: the task is to stop. A task no agent has picked up yet stops at once.</summary>
    public static bool RequestStop(TaskEntity task, string reason, string stopCode, DateTime now)
    {
        if (task.DesiredStatus == TaskStatuses.Stopped)
        {
            return false;
        }

        task.DesiredStatus = TaskStatuses.Stopped;
        task.StopCode ??= stopCode;
        task.StoppedReason ??= reason;
        task.StoppingAt ??= now;
        if (task.LastStatus == TaskStatuses.Provisioning)
        {
            Stop(task, now);
        }

        task.Version++;
        return true;
    }

    /// <summary>
    /// After <see cref="RequestStop"/>, for a task behind a load balancer: it is DEACTIVATING (out of its
    /// target groups, finishing its requests) and its agent is told to stop it only after <paramref name="until"/>.
    /// </summary>
    public static void Drain(TaskEntity task, DateTime until)
    {
        if (task.LastStatus == TaskStatuses.Running)
        {
            task.LastStatus = TaskStatuses.Deactivating;
            task.DrainingUntil = until;
        }
    }

    /// <summary>Ends a drain: the agent learns at its next poll that the task is to stop.</summary>
    public static void EndDrain(TaskEntity task)
    {
        task.DrainingUntil = null;
        task.Version++;
    }

    /// <summary>
    /// Applies an agent's report. Returns whether anything changed; a stale or repeated report (a status
    /// the task has passed) changes only what it adds about containers.
    /// </summary>
    public static bool Apply(TaskEntity task, TaskReport report, DateTime now)
    {
        if (!TaskStatuses.IsKnown(report.Status))
        {
            throw new ArgumentException($"'{report.Status}' is not a task status.", nameof(report));
        }

        var containers = TaskContainer.ReadAll(task.Containers);
        var changed = MergeContainers(containers, report.Containers);
        var wasRunning = task.StartedAt is not null;

        changed |= SetOnce(task.PullStartedAt, report.PullStartedAt, v => task.PullStartedAt = v);
        changed |= SetOnce(task.PullStoppedAt, report.PullStoppedAt, v => task.PullStoppedAt = v);
        changed |= SetOnce(task.ExecutionStoppedAt, report.ExecutionStoppedAt, v => task.ExecutionStoppedAt = v);

        if (TaskStatuses.Rank(report.Status) > TaskStatuses.Rank(task.LastStatus))
        {
            task.LastStatus = report.Status;
            if (report.Status == TaskStatuses.Running)
            {
                task.StartedAt ??= now;
            }

            changed = true;
        }

        if (task.DesiredStatus != TaskStatuses.Stopped && containers.Any(c => c.Essential && c.LastStatus == TaskStatuses.Stopped))
        {
            // One essential container gone stops the whole task; the agent stops the rest.
            task.DesiredStatus = TaskStatuses.Stopped;
            task.StoppingAt ??= now;
            if (wasRunning || task.LastStatus == TaskStatuses.Running || task.StartedAt is not null)
            {
                task.StopCode ??= StopCodes.EssentialContainerExited;
                task.StoppedReason ??= EssentialContainerExitedReason;
            }
            else
            {
                task.StopCode ??= StopCodes.TaskFailedToStart;
                task.StoppedReason ??= FirstReason(report, containers) ?? "A container failed to start.";
            }

            changed = true;
        }

        if (task.LastStatus == TaskStatuses.Stopped && task.StoppedAt is null)
        {
            task.DesiredStatus = TaskStatuses.Stopped;
            if (task.StartedAt is null)
            {
                task.StopCode ??= StopCodes.TaskFailedToStart;
                task.StoppedReason ??= FirstReason(report, containers) ?? "The task stopped before it started.";
            }
            else
            {
                task.StopCode ??= StopCodes.EssentialContainerExited;
                task.StoppedReason ??= EssentialContainerExitedReason;
            }

            Stop(task, now);
            foreach (var container in containers.Where(c => c.LastStatus != TaskStatuses.Stopped))
            {
                container.LastStatus = TaskStatuses.Stopped;
            }

            changed = true;
        }

        if (changed)
        {
            task.Containers = TaskContainer.WriteAll(containers);
            task.Version++;
        }

        return changed;
    }

    /// <summary>The task's agent stopped answering: the task is reported stopped and lost, and holds nothing any more.</summary>
    public static void MarkLost(TaskEntity task, string reason, DateTime now)
    {
        if (task.LastStatus == TaskStatuses.Stopped)
        {
            return;
        }

        task.DesiredStatus = TaskStatuses.Stopped;
        task.StopCode ??= StopCodes.TerminationNotice;
        task.StoppedReason ??= reason;
        task.StoppingAt ??= now;
        var containers = TaskContainer.ReadAll(task.Containers);
        foreach (var container in containers.Where(c => c.LastStatus != TaskStatuses.Stopped))
        {
            container.LastStatus = TaskStatuses.Stopped;
            container.Reason ??= reason;
        }

        task.Containers = TaskContainer.WriteAll(containers);
        Stop(task, now);
        task.Version++;
    }

    /// <summary>
    /// The task's health as ECS derives it from its essential containers: UNHEALTHY if one is, HEALTHY if all
    /// with a health check are, UNKNOWN otherwise.
    /// </summary>
    public static string TaskHealth(IReadOnlyList<TaskContainer> containers)
    {
        var essential = containers.Where(c => c.Essential).ToList();
        return essential.Any(c => c.HealthStatus == "UNHEALTHY") ? "UNHEALTHY"
            : essential.Any(c => c.HealthStatus == "HEALTHY") && essential.All(c => c.HealthStatus != "UNKNOWN" || c.LastStatus == TaskStatuses.Stopped) ? "HEALTHY"
            : "UNKNOWN";
    }

    private static void Stop(TaskEntity task, DateTime now)
    {
        task.LastStatus = TaskStatuses.Stopped;
        task.ExecutionStoppedAt ??= now;
        task.StoppedAt = now;
        task.DrainingUntil = null;
    }

    private static bool MergeContainers(List<TaskContainer> containers, IReadOnlyList<ContainerReport> reports)
    {
        var changed = false;
        foreach (var report in reports)
        {
            if (containers.FirstOrDefault(c => c.Name == report.Name) is not { } container || !TaskStatuses.IsKnown(report.Status))
            {
                continue;
            }

            if (TaskStatuses.Rank(report.Status) > TaskStatuses.Rank(container.LastStatus))
            {
                container.LastStatus = report.Status;
                changed = true;
            }

            changed |= SetOnce(container.ExitCode, report.ExitCode, v => container.ExitCode = v);
            changed |= SetOnce(container.Reason, report.Reason, v => container.Reason = v);
            changed |= SetOnce(container.RuntimeId, report.RuntimeId, v => container.RuntimeId = v);
            if (report.HealthStatus is "HEALTHY" or "UNHEALTHY" or "UNKNOWN" && report.HealthStatus != container.HealthStatus)
            {
                container.HealthStatus = report.HealthStatus;
                changed = true;
            }

            if (report.LogTail is { } tail && tail != container.LogTail)
            {
                container.LogTail = tail.Length > TaskContainer.MaxLogTail ? tail[^TaskContainer.MaxLogTail..] : tail;
                changed = true;
            }

            if (report.NetworkBindings is { Count: > 0 } bindings && !bindings.SequenceEqual(container.NetworkBindings))
            {
                container.NetworkBindings = [.. bindings];
                changed = true;
            }
        }

        return changed;
    }

    private static string? FirstReason(TaskReport report, List<TaskContainer> containers) =>
        report.Reason ?? containers.Select(c => c.Reason).FirstOrDefault(r => r is not null);

    private static bool SetOnce<T>(T? current, T? reported, Action<T> set)
    {
        if (current is not null || reported is null)
        {
            return false;
        }

        set(reported);
        return true;
    }
}
