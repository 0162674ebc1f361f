using Registry.Agent.Config;

namespace Registry.Agent.Runtimes;

/// <summary>
/// Runs a task's containers on this machine. Implementations label (or name) what they create with the
/// task and container, so a restarted agent finds its running containers again instead of starting twice.
/// Disposing releases the runtime's connections, never its containers.
/// </summary>
public interface ITaskRuntime : IDisposable
{
    /// <summary><c>docker</c> or <c>runc</c>, registered as the instance's <c>registry.runtime</c> attribute.</summary>
    string Name { get; }

    /// <summary>Pulls the image if needed, creates the container and starts it; the runtime's id for it.</summary>
    Task<string> StartAsync(ContainerSpec spec, CancellationToken cancellationToken);

    /// <summary>SIGTERM, then SIGKILL after <paramref name="timeout"/>.</summary>
    Task StopAsync(string runtimeId, TimeSpan timeout, CancellationToken cancellationToken);

    Task<ContainerState> InspectAsync(string runtimeId, CancellationToken cancellationToken);

    /// <summary>The last <paramref name="maxCharacters"/> characters of the container's stdout and stderr.</summary>
    Task<string> LogTailAsync(string runtimeId, int maxCharacters, CancellationToken cancellationToken);

    /// <summary>Removes a stopped container and what it holds (after ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION).</summary>
    Task RemoveAsync(string runtimeId, CancellationToken cancellationToken);

    /// <summary>Every container this agent's runtime holds for the cluster, running or not.</summary>
    Task<IReadOnlyList<RuntimeContainer>> ListAsync(string cluster, CancellationToken cancellationToken);
}

/// <summary>
/// One container to run, from the task definition with the task's overrides applied; <see cref="PullLogin"/>
/// signs its pull in place of the agent's credentials (the task's execution role).
/// </summary>
public sealed record ContainerSpec(
    string Cluster,
    string TaskArn,
    string Name,
    string Image,
    IReadOnlyList<string>? EntryPoint,
    IReadOnlyList<string>? Command,
    IReadOnlyDictionary<string, string> Environment,
    int? MemoryMiB,
    int? MemoryReservationMiB,
    int CpuShares,
    string NetworkMode,
    IReadOnlyList<PortMapping> PortMappings,
    string? WorkingDirectory,
    string? User,
    string? LogDriver,
    IReadOnlyDictionary<string, string> LogOptions,
    HealthCheck? HealthCheck = null,
    RegistryLogin? PullLogin = null);

/// <summary>The task definition's healthCheck: a command (<c>CMD</c> or <c>CMD-SHELL</c> form) and its timing in seconds.</summary>
public sealed record HealthCheck(IReadOnlyList<string> Command, int Interval, int Timeout, int Retries, int StartPeriod);

/// <summary>The ECS agent's naming for the containers it runs: <c>ecs-&lt;task id&gt;-&lt;container&gt;</c>, one per name.</summary>
public static class ContainerNames
{
    public static string For(ContainerSpec spec) =>
        $"ecs-{spec.TaskArn[(spec.TaskArn.LastIndexOf('/') + 1)..]}-{new string(spec.Name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' ? c : '-').ToArray())}";
}

public sealed record PortMapping(int ContainerPort, int HostPort, string Protocol);

/// <summary>A container's state as the runtime sees it; <see cref="Health"/> is ECS's HEALTHY, UNHEALTHY or UNKNOWN.</summary>
public sealed record ContainerState(bool Running, int? ExitCode, bool OomKilled, string? Error, IReadOnlyList<ControlPlane.PortBinding> Bindings, string Health = "UNKNOWN");

/// <summary>A container found in the runtime, with the task and container name it was created for.</summary>
public sealed record RuntimeContainer(string RuntimeId, string TaskArn, string ContainerName);

/// <summary>The image could not be pulled: the task fails to start with this reason.</summary>
public sealed class ImagePullException : Exception
{
    public ImagePullException()
    {
    }

    public ImagePullException(string message)
        : base(message)
    {
    }

    public ImagePullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
