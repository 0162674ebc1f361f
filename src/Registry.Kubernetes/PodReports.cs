using k8s.Models;
using Registry.Kubernetes.Manifests;
using Registry.Scheduler.Tasks;

namespace Registry.Kubernetes;

/// <summary>
/// A Pod's state as the report an agent would send about its task: PROVISIONING until scheduled, PENDING
/// until its essential containers run, RUNNING, STOPPING while it is deleted, STOPPED once it has ended.
/// A container Kubernetes cannot start (image pull, bad configuration) or that has exited (restarted
/// since, under restartPolicy Always) is reported stopped with its reason or exit code, so the task fails
/// or stops as it would on an agent instead of looking fine while it crash-loops.
/// </summary>
public static class PodReports
{
    /// <summary>What a reason may hold (the metadata keeps 1024 characters; ECS shows 255).</summary>
    private const int MaxReason = 255;

    private static readonly HashSet<string> CannotStart = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError", "RunContainerError"];

    public static TaskReport Of(V1Pod pod, IReadOnlyList<TaskContainer> containers, DateTime now)
    {
        var statuses = pod.Status?.ContainerStatuses ?? [];
        var reports = containers.Select(c => Container(c, statuses.FirstOrDefault(s => s.Name == KubernetesNames.Dns1123(c.Name, 63)), pod, now)).ToList();
        var essential = containers.Where(c => c.Essential).Select(c => KubernetesNames.Dns1123(c.Name, 63)).ToHashSet(StringComparer.Ordinal);
        return new TaskReport(Status(pod, statuses.Where(s => essential.Contains(s.Name)).ToList(), essential.Count), Truncate(Reason(pod)), reports);
    }

    private static string Status(V1Pod pod, List<V1ContainerStatus> essential, int essentialCount)
    {
        switch (pod.Status?.Phase)
        {
            case "Succeeded" or "Failed":
                return TaskStatuses.Stopped;
            case "Running" when pod.Metadata.DeletionTimestamp is null && essential.Count == essentialCount && essential.All(s => s.State?.Running is not null):
                return TaskStatuses.Running;
        }

        if (pod.Metadata.DeletionTimestamp is not null)
        {
            return TaskStatuses.Stopping;
        }

        var scheduled = pod.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Status == "True") ?? false;
        return scheduled ? TaskStatuses.Pending : TaskStatuses.Provisioning;
    }

    private static ContainerReport Container(TaskContainer container, V1ContainerStatus? status, V1Pod pod, DateTime now)
    {
        var spec = pod.Spec?.Containers.FirstOrDefault(c => c.Name == status?.Name);
        var bindings = pod.Status?.PodIP is { } address
            ? spec?.Ports?.Select(p => new NetworkBinding(address, p.ContainerPort, p.HostPort ?? p.ContainerPort, (p.Protocol ?? "TCP").ToLowerInvariant())).ToList()
            : null;
        switch (status?.State)
        {
            case { Terminated: { } terminated }:
                return Exited(container, terminated, status.ContainerID);
            case { Waiting: { } waiting } when waiting.Reason is { } reason && CannotStart.Contains(reason):
                return new ContainerReport(container.Name, TaskStatuses.Stopped, Reason: Truncate(reason.Contains("Image", StringComparison.Ordinal)
                    ? $"CannotPullContainerError: {waiting.Message ?? reason}"
                    : $"CannotStartContainerError: {waiting.Message ?? reason}"));
            case { Waiting: not null } when status.LastState?.Terminated is { } previous && status.RestartCount > 0:
                // Crash-looping: it exited and waits to be restarted; to ECS the task's container has stopped.
                return Exited(container, previous, status.ContainerID);
            case { Running: { } running }:
                return new ContainerReport(container.Name, TaskStatuses.Running, RuntimeId: status.ContainerID, NetworkBindings: bindings, HealthStatus: Health(spec?.ReadinessProbe, status.Ready, running.StartedAt, now));
            default:
                return new ContainerReport(container.Name, pod.Status?.Phase is "Succeeded" or "Failed" ? TaskStatuses.Stopped : TaskStatuses.Pending);
        }
    }

    private static ContainerReport Exited(TaskContainer container, V1ContainerStateTerminated terminated, string? runtimeId) =>
        new(container.Name, TaskStatuses.Stopped, terminated.ExitCode, terminated.Reason is "Completed" or "Error" ? null : Truncate(terminated.Message ?? terminated.Reason), runtimeId);

    /// <summary>
    /// HEALTHY when ready; UNHEALTHY when not ready after its start period and as many failed checks as
    /// the check allows (ECS's retries); UNKNOWN before, or without a check.
    /// </summary>
    private static string? Health(V1Probe? probe, bool ready, DateTime? startedAt, DateTime now)
    {
        if (probe is null)
        {
            return null;
        }

        if (ready)
        {
            return "HEALTHY";
        }

        var allowed = TimeSpan.FromSeconds((probe.InitialDelaySeconds ?? 0) + ((probe.PeriodSeconds ?? 10) * (probe.FailureThreshold ?? 3)) + (probe.TimeoutSeconds ?? 1));
        return startedAt is { } started && now - started > allowed ? "UNHEALTHY" : "UNKNOWN";
    }

    private static string? Reason(V1Pod pod) => pod.Status?.Reason is { } reason ? $"{reason}: {pod.Status.Message}" : null;

    private static string? Truncate(string? text) => text is { Length: > MaxReason } ? text[..MaxReason] : text;
}
