using Docker.DotNet;
using Docker.DotNet.Models;
using Registry.Agent.Config;

namespace Registry.Agent.Runtimes;

/// <summary>
/// Runs containers on a Docker engine through its API, as the ECS agent does: the engine pulls with the
/// agent's registry credentials; memory, memory reservation, cpu shares, ports and the logging driver
/// come from the task definition; the ECS agent's labels tie each container to its task and cluster.
/// </summary>
public sealed class DockerRuntime(DockerClient docker, AgentConfig config) : ITaskRuntime
{
    public const string TaskArnLabel = "com.amazonaws.ecs.task-arn";
    public const string ContainerNameLabel = "com.amazonaws.ecs.container-name";
    public const string ClusterLabel = "com.amazonaws.ecs.cluster";

    public string Name => "docker";

    /// <summary>Whether an engine answers at <paramref name="endpoint"/>; the reason when not.</summary>
    public static async Task<string?> ProbeAsync(DockerClient docker, Uri endpoint, CancellationToken cancellationToken)
    {
        try
        {
            await docker.System.PingAsync(cancellationToken);
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or DockerApiException or IOException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return $"no Docker engine answers at {endpoint}: {e.Message}";
        }
    }

    public async Task<string> StartAsync(ContainerSpec spec, CancellationToken cancellationToken)
    {
        var image = ImageReference.Parse(spec.Image);
        try
        {
            var credentials = spec.PullLogin ?? (config.Credentials.For(image.Registry) is { } agent ? new RegistryLogin(agent.User, agent.Password) : null);
            await docker.Images.CreateImageAsync(
                new ImagesCreateParameters { FromImage = image.Repository, Tag = image.TagOrDigest },
                credentials is { } c ? new AuthConfig { Username = c.User, Password = c.Password, ServerAddress = image.Registry } : new AuthConfig(),
                new Progress<JSONMessage>(),
                cancellationToken);
        }
        catch (DockerApiException e)
        {
            throw new ImagePullException($"CannotPullContainerError: {Message(e)}", e);
        }

        var logDriver = spec.LogDriver ?? (config.LoggingDrivers.Count > 0 ? config.LoggingDrivers[0] : "json-file");
        if (!config.LoggingDrivers.Contains(logDriver))
        {
            throw new ImagePullException($"CannotStartContainerError: logging driver {logDriver} is not in ECS_AVAILABLE_LOGGING_DRIVERS");
        }

        var hostPorts = DynamicHostPorts.For(spec, config.ReservedPorts);
        var created = await docker.Containers.CreateContainerAsync(
            new CreateContainerParameters
            {
                Name = ContainerNames.For(spec),
                Image = spec.Image,
                Entrypoint = spec.EntryPoint?.ToList(),
                Cmd = spec.Command?.ToList(),
                Env = spec.Environment.Select(e => $"{e.Key}={e.Value}").ToList(),
                WorkingDir = spec.WorkingDirectory,
                User = spec.User,
                Labels = new Dictionary<string, string> { [TaskArnLabel] = spec.TaskArn, [ContainerNameLabel] = spec.Name, [ClusterLabel] = spec.Cluster },
                Healthcheck = spec.HealthCheck is { } check
                    ? new HealthConfig
                    {
                        Test = [.. check.Command],
                        Interval = TimeSpan.FromSeconds(check.Interval),
                        Timeout = TimeSpan.FromSeconds(check.Timeout),
                        Retries = check.Retries,
                        StartPeriod = (long)TimeSpan.FromSeconds(check.StartPeriod).TotalNanoseconds,
                    }
                    : null,
                ExposedPorts = spec.PortMappings.ToDictionary(p => $"{p.ContainerPort}/{p.Protocol}", _ => new EmptyStruct()),
                HostConfig = new HostConfig
                {
                    Memory = (spec.MemoryMiB ?? 0) * 1024L * 1024L,
                    MemoryReservation = (spec.MemoryReservationMiB ?? 0) * 1024L * 1024L,
                    MemorySwap = spec.MemoryMiB is { } hard ? hard * 1024L * 1024L : 0,
                    CPUShares = Math.Max(spec.CpuShares, 2),
                    NetworkMode = spec.NetworkMode == "bridge" ? "bridge" : spec.NetworkMode,
                    PortBindings = spec.NetworkMode == "bridge"
                        ? spec.PortMappings.Zip(hostPorts).ToDictionary(p => $"{p.First.ContainerPort}/{p.First.Protocol}", p => (IList<PortBinding>)[new PortBinding { HostPort = p.Second.ToString(System.Globalization.CultureInfo.InvariantCulture) }])
                        : null,
                    LogConfig = new LogConfig { Type = logDriver, Config = LogOptions(logDriver, spec.LogOptions) },
                },
            },
            cancellationToken);
        await docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), cancellationToken);
        return created.ID;
    }

    /// <summary>The task's log options; json-file logs are rotated (3 files of 10 MiB) unless the task says otherwise.</summary>
    private static Dictionary<string, string> LogOptions(string driver, IReadOnlyDictionary<string, string> given)
    {
        var options = given.ToDictionary();
        if (driver == "json-file")
        {
            options.TryAdd("max-size", "10m");
            options.TryAdd("max-file", "3");
        }

        return options;
    }

    public async Task StopAsync(string runtimeId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await docker.Containers.StopContainerAsync(runtimeId, new ContainerStopParameters { WaitBeforeKillSeconds = (uint)Math.Ceiling(timeout.TotalSeconds) }, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
            // Already gone: nothing to stop.
        }
    }

    public async Task<ContainerState> InspectAsync(string runtimeId, CancellationToken cancellationToken)
    {
        try
        {
            var inspected = await docker.Containers.InspectContainerAsync(runtimeId, cancellationToken);
            var bindings = inspected.NetworkSettings?.Ports?
                .Where(p => p.Value is not null)
                .SelectMany(p => p.Value.Select(b => new ControlPlane.PortBinding(
                    string.IsNullOrEmpty(b.HostIP) ? "0.0.0.0" : b.HostIP,
                    int.Parse(p.Key.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture),
                    int.TryParse(b.HostPort, out var host) ? host : 0,
                    p.Key.Split('/') is [_, var protocol] ? protocol : "tcp")))
                .ToList() ?? [];
            var state = inspected.State;
            var health = state.Health?.Status switch
            {
                "healthy" => "HEALTHY",
                "unhealthy" => "UNHEALTHY",
                _ => "UNKNOWN",
            };
            return new ContainerState(state.Running, state.Running ? null : (int)state.ExitCode, state.OOMKilled, string.IsNullOrEmpty(state.Error) ? null : state.Error, bindings, health);
        }
        catch (DockerContainerNotFoundException)
        {
            return new ContainerState(false, null, false, "The container is gone from the Docker engine.", []);
        }
    }

    public async Task<string> LogTailAsync(string runtimeId, int maxCharacters, CancellationToken cancellationToken)
    {
        try
        {
            using var logs = await docker.Containers.GetContainerLogsAsync(runtimeId, tty: false, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Tail = "200" }, cancellationToken);
            var (stdout, stderr) = await logs.ReadOutputToEndAsync(cancellationToken);
            var text = stdout + stderr;
            return text.Length > maxCharacters ? text[^maxCharacters..] : text;
        }
        catch (DockerContainerNotFoundException)
        {
            return "";
        }
    }

    public async Task RemoveAsync(string runtimeId, CancellationToken cancellationToken)
    {
        try
        {
            await docker.Containers.RemoveContainerAsync(runtimeId, new ContainerRemoveParameters { Force = true }, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
            // Already removed.
        }
    }

    public async Task<IReadOnlyList<RuntimeContainer>> ListAsync(string cluster, CancellationToken cancellationToken)
    {
        var containers = await docker.Containers.ListContainersAsync(
            new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{ClusterLabel}={cluster}"] = true } },
            },
            cancellationToken);
        return containers
            .Where(c => c.Labels.ContainsKey(TaskArnLabel) && c.Labels.ContainsKey(ContainerNameLabel))
            .Select(c => new RuntimeContainer(c.ID, c.Labels[TaskArnLabel], c.Labels[ContainerNameLabel]))
            .ToList();
    }

    public void Dispose() => docker.Dispose();

    /// <summary>The engine's error message (its body is <c>{"message": …}</c>), for a task's stopped reason.</summary>
    public static string Message(DockerApiException e)
    {
        try
        {
            using var body = System.Text.Json.JsonDocument.Parse(e.ResponseBody);
            return body.RootElement.TryGetProperty("message", out var message) && message.GetString() is { Length: > 0 } text ? text : e.ResponseBody.Trim();
        }
        catch (System.Text.Json.JsonException)
        {
            return e.ResponseBody.Trim();
        }
    }
}
