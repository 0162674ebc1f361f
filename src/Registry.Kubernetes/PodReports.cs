using k8s.Models;
using Registry.Kubernetes.Manifests;
using Registry.Scheduler.Tasks;

namespace Registry.Kubernetes;

/// <summary>
/// A Pod's state as the report an agent would send about its task: PROVISIONING until scheduled, PENDING
/// until every container runs, RUNNING, STOPPING while it is deleted, STOPPED once it has ended. A
/// container Kubernetes cannot start (image pull, bad configuration) is reported stopped with the reason,
/// so the task fails to start as it would on an agent instead of waiting forever.
/// </summary>
public static class PodReports
{
    private static readonly HashSet<string> CannotStart = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError", "RunContainerError"];

    public static TaskReport Of(V1Pod pod, IReadOnlyList<TaskContainer> containers)
    {
        var statuses = pod.Status?.ContainerStatuses ?? [];
        var reports = containers.Select(c => Container(c, statuses.FirstOrDefault(s => s.Name == KubernetesNames.Dns1123(c.Name, 63)), pod)).ToList();
        return new TaskReport(Status(pod, statuses), Reason(pod), reports);
    }

    private static string Status(V1Pod pod, IList<V1ContainerStatus> statuses)
    {
        switch (pod.Status?.Phase)
        {
            case "Succeeded" or "Failed":
                return TaskStatuses.Stopped;
            case "Running" when pod.Metadata.DeletionTimestamp is null && statuses.Count > 0 && statuses.All(s => s.State?.Running is not null):
                return TaskStatuses.Running;
        }

        if (pod.Metadata.DeletionTimestamp is not null)
        {
            return TaskStatuses.Stopping;
        }

        var scheduled = pod.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Status == "True") ?? false;
        return scheduled ? TaskStatuses.Pending : TaskStatuses.Provisioning;
    }

    private static ContainerReport Container(TaskContainer container, V1ContainerStatus? status, V1Pod pod)
    {
        var bindings = pod.Status?.PodIP is { } address
            ? pod.Spec?.Containers.FirstOrDefault(c => c.Name == status?.Name)?.Ports?.Select(p => new NetworkBinding(address, p.ContainerPort, p.HostPort ?? p.ContainerPort, (p.Protocol ?? "TCP").ToLowerInvariant())).ToList()
            : null;
        var probed = pod.Spec?.Containers.FirstOrDefault(c => c.Name == status?.Name)?.ReadinessProbe is not null;
        switch (status?.State)
        {
            case { Terminated: { } terminated }:
                return new ContainerReport(container.Name, TaskStatuses.Stopped, terminated.ExitCode, terminated.Reason is "Completed" or "Error" ? null : terminated.Message ?? terminated.Reason, status.ContainerID);
            case { Waiting: { } waiting } when waiting.Reason is { } reason && CannotStart.Contains(reason):
                return new ContainerReport(container.Name, TaskStatuses.Stopped, Reason: reason.Contains("Image", StringComparison.Ordinal)
                    ? $"CannotPullContainerError: {waiting.Message ?? reason}"
                    : $"CannotStartContainerError: {waiting.Message ?? reason}");
            case { Running: not null }:
                return new ContainerReport(container.Name, TaskStatuses.Running, RuntimeId: status.ContainerID, NetworkBindings: bindings,
                    HealthStatus: probed ? status.Ready ? "HEALTHY" : "UNKNOWN" : null);
            default:
                return new ContainerReport(container.Name, pod.Status?.Phase is "Succeeded" or "Failed" ? TaskStatuses.Stopped : TaskStatuses.Pending);
        }
    }

    private static string? Reason(V1Pod pod) => pod.Status?.Reason is { } reason ? $"{reason}: {pod.Status.Message}" : null;
}
