using Microsoft.Extensions.Logging;
using Registry.Agent.Config;
using Registry.Agent.ControlPlane;
using Registry.Agent.Credentials;
using Registry.Agent.Runtimes;

namespace Registry.Agent.Tasks;

/// <summary>
/// Keeps this machine's containers in line with the tasks the control plane assigned: starts what should
/// run, stops what should stop (SIGTERM, then SIGKILL after ECS_CONTAINER_STOP_TIMEOUT), watches for
/// exits (an essential container's exit stops its task), reports every transition, and removes stopped
/// containers after ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION. After a restart it adopts the containers the
/// runtime still holds, so no task is lost or started twice. Each container's output tail goes to the
/// control plane with its final state, and every <see cref="LogTailInterval"/> while it runs. With
/// ECS_ENABLE_TASK_IAM_ROLE, the tasks' role credentials are kept on the agent's endpoint (<c>credentials</c>).
/// </summary>
public sealed partial class TaskManager(ControlPlaneClient plane, ITaskRuntime runtime, AgentConfig config, TimeProvider clock, ILogger logger, TaskCredentials? credentials = null)
{
    private const string Running = "RUNNING";
    private const string Stopped = "STOPPED";
    private const int LogTailCharacters = 16 * 1024;
    private static readonly TimeSpan LogTailInterval = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, LocalTask> _tasks = new(StringComparer.Ordinal);

    /// <summary>The tasks this agent holds and the version of each it last saw, for the next poll.</summary>
    public IEnumerable<(string TaskArn, long Version)> Known => _tasks.Select(t => (t.Key, t.Value.Version));

    /// <summary>Adopts the containers the runtime holds for the cluster (after an agent restart).</summary>
    public async Task RecoverAsync(CancellationToken cancellationToken)
    {
        foreach (var group in (await runtime.ListAsync(config.Cluster, cancellationToken)).GroupBy(c => c.TaskArn))
        {
            var task = new LocalTask();
            foreach (var container in group)
            {
                task.Containers[container.ContainerName] = new LocalContainer(container.RuntimeId, Essential: true);
            }

            _tasks[group.Key] = task;
            Log.Adopted(logger, group.Key, task.Containers.Count);
        }
    }

    public async Task ReconcileAsync(IReadOnlyList<AssignedTask> assigned, CancellationToken cancellationToken)
    {
        foreach (var task in assigned)
        {
            if (!_tasks.TryGetValue(task.TaskArn, out var local))
            {
                if (task.LastStatus == Stopped)
                {
                    continue;
                }

                if (task.DesiredStatus == Running)
                {
                    await StartAsync(task, cancellationToken);
                }
                else
                {
                    // Stopped before this agent started anything for it.
                    await plane.SubmitTaskStateAsync(new TaskStateChange(task.TaskArn, Stopped, "Task stopped before it started", []), cancellationToken);
                }

                continue;
            }

            local.Version = task.Version;
            local.Assigned ??= task;
            HoldCredentials(task, local.Stopped);
            MarkEssentials(local, task);
            if (task.LastStatus == Stopped && !local.Stopped)
            {
                // Already stopped for the control plane (reported lost while this agent was away, or
                // finished before a restart): nothing of it may keep running, and nothing to report.
                await StopAsync(task.TaskArn, local, cancellationToken, report: false);
            }
            else if (task.DesiredStatus == Stopped && !local.Stopped)
            {
                await StopAsync(task.TaskArn, local, cancellationToken);
            }
        }

        var assignedArns = assigned.Select(a => a.TaskArn).ToHashSet(StringComparer.Ordinal);
        foreach (var (arn, local) in _tasks.Where(t => !assignedArns.Contains(t.Key) && !t.Value.Stopped).ToList())
        {
            Log.Unknown(logger, arn);
            await StopAsync(arn, local, cancellationToken, report: false);
        }

        await WatchAsync(cancellationToken);
        await CleanUpAsync(cancellationToken);
    }

    private async Task StartAsync(AssignedTask task, CancellationToken cancellationToken)
    {
        var local = new LocalTask { Version = task.Version, Assigned = task };
        _tasks[task.TaskArn] = local;
        var pullStarted = clock.GetUtcNow();
        await plane.SubmitTaskStateAsync(new TaskStateChange(task.TaskArn, "PENDING", null, [], PullStartedAt: pullStarted), cancellationToken);
        HoldCredentials(task, stopped: false);
        var specs = ContainerSpecs.From(config.Cluster, task.TaskArn, task.TaskDefinition, task.Overrides, CredentialsEnvironment(task));
        try
        {
            if (task.ExecutionRoleCredentials is { } execution)
            {
                // Images on the registry this agent reports to are pulled as the task's execution role.
                RegistryLogin login;
                try
                {
                    login = await plane.ExecutionRoleLoginAsync(execution, cancellationToken);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or FormatException && !cancellationToken.IsCancellationRequested)
                {
                    throw new ImagePullException($"CannotPullContainerError: the execution role could not log in to {config.Endpoint.Authority}: {e.Message}", e);
                }

                specs = [.. specs.Select(s => ImageReference.Parse(s.Spec.Image).Registry.Equals(config.Endpoint.Authority, StringComparison.OrdinalIgnoreCase)
                    ? (s.Spec with { PullLogin = login }, s.Essential)
                    : s)];
            }

            if (task.RoleCredentials is not null && credentials is null)
            {
                throw new TaskStartException("CannotStartContainerError: the task has a taskRoleArn, and this instance's agent runs without ECS_ENABLE_TASK_IAM_ROLE=true");
            }

            foreach (var (spec, essential) in specs)
            {
                local.Containers[spec.Name] = new LocalContainer(await runtime.StartAsync(spec, cancellationToken), essential);
            }
        }
        catch (Exception e) when (e is ImagePullException or TaskStartException or Docker.DotNet.DockerApiException or IOException or HttpRequestException)
        {
            var reason = e is Docker.DotNet.DockerApiException api ? $"CannotStartContainerError: {DockerRuntime.Message(api)}" : e.Message;
            Log.StartFailed(logger, task.TaskArn, reason);
            foreach (var container in local.Containers.Values)
            {
                await runtime.StopAsync(container.RuntimeId, TimeSpan.Zero, cancellationToken);
            }

            local.Stopped = true;
            local.StoppedAt = clock.GetUtcNow();
            var failed = specs.Select(s => new ContainerStateChange(s.Spec.Name, Stopped, null, reason, local.Containers.GetValueOrDefault(s.Spec.Name)?.RuntimeId, [])).ToList();
            await plane.SubmitTaskStateAsync(new TaskStateChange(task.TaskArn, Stopped, reason, failed, pullStarted, clock.GetUtcNow(), clock.GetUtcNow()), cancellationToken);
            return;
        }

        await plane.SubmitTaskStateAsync(new TaskStateChange(task.TaskArn, "ACTIVATING", null, [], pullStarted, clock.GetUtcNow()), cancellationToken);
        Log.Started(logger, task.TaskArn, local.Containers.Count);
        await plane.SubmitTaskStateAsync(new TaskStateChange(task.TaskArn, Running, null, await RunningStatesAsync(local, cancellationToken)), cancellationToken);
        local.LogsSentAt = clock.GetUtcNow();
    }

    /// <summary>Keeps the task's latest role credentials on the endpoint while it runs, and drops them once it stopped.</summary>
    private void HoldCredentials(AssignedTask task, bool stopped)
    {
        if (credentials is null)
        {
            return;
        }

        if (task.RoleCredentials is { } role && !stopped && task.LastStatus != Stopped)
        {
            credentials.Set(task.TaskArn, role, tokenRequired: NetworkMode(task) != "bridge");
        }
        else
        {
            credentials.Remove(task.TaskArn);
        }
    }

    /// <summary>
    /// How a task with a role reaches its credentials, as the ECS agent tells it: bridge tasks by the
    /// relative URI at 169.254.170.2, the others by the full loopback URI and an authorization token.
    /// </summary>
    private Dictionary<string, string>? CredentialsEnvironment(AssignedTask task)
    {
        if (credentials is null || task.RoleCredentials is null)
        {
            return null;
        }

        var path = $"/v2/credentials/{credentials.IdFor(task.TaskArn)}";
        return NetworkMode(task) == "bridge"
            ? new() { ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = path }
            : new()
            {
                ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = $"http://127.0.0.1:{config.CredentialsPort}{path}",
                ["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = credentials.TokenFor(task.TaskArn),
            };
    }

    private static string NetworkMode(AssignedTask task) => (string?)task.TaskDefinition["networkMode"] ?? "bridge";

    private async Task StopAsync(string taskArn, LocalTask local, CancellationToken cancellationToken, bool report = true)
    {
        credentials?.Remove(taskArn);
        if (report)
        {
            await plane.SubmitTaskStateAsync(new TaskStateChange(taskArn, "DEACTIVATING", null, []), cancellationToken);
            await plane.SubmitTaskStateAsync(new TaskStateChange(taskArn, "STOPPING", null, []), cancellationToken);
        }

        await Task.WhenAll(local.Containers.Values.Select(c => runtime.StopAsync(c.RuntimeId, config.ContainerStopTimeout, cancellationToken)));
        local.Stopped = true;
        local.StoppedAt = clock.GetUtcNow();
        if (report)
        {
            var final = await FinalStatesAsync(local, cancellationToken);
            await plane.SubmitTaskStateAsync(new TaskStateChange(taskArn, "DEPROVISIONING", null, [], ExecutionStoppedAt: clock.GetUtcNow()), cancellationToken);
            await plane.SubmitTaskStateAsync(new TaskStateChange(taskArn, Stopped, null, final), cancellationToken);
        }

        Log.Stopped(logger, taskArn);
    }

    /// <summary>Reports containers that exited on their own; an essential one takes its task down with it.</summary>
    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        foreach (var (arn, local) in _tasks.Where(t => !t.Value.Stopped).ToList())
        {
            var exited = new List<ContainerStateChange>();
            foreach (var (name, container) in local.Containers.Where(c => !c.Value.Exited))
            {
                var state = await runtime.InspectAsync(container.RuntimeId, cancellationToken);
                if (!state.Running)
                {
                    container.Exited = true;
                    exited.Add(await FinalAsync(name, container, state, cancellationToken));
                }
            }

            if (exited.Count == 0)
            {
                var healthChanged = false;
                foreach (var container in local.Containers.Values.Where(c => !c.Exited))
                {
                    var health = (await runtime.InspectAsync(container.RuntimeId, cancellationToken)).Health;
                    healthChanged |= health != container.Health;
                    container.Health = health;
                }

                if (healthChanged || clock.GetUtcNow() - local.LogsSentAt >= LogTailInterval)
                {
                    await plane.SubmitTaskStateAsync(new TaskStateChange(arn, Running, null, await RunningStatesAsync(local, cancellationToken)), cancellationToken);
                    local.LogsSentAt = clock.GetUtcNow();
                }

                continue;
            }

            if (local.Containers.Values.Any(c => c.Exited && c.Essential) || local.Containers.Values.All(c => c.Exited))
            {
                await Task.WhenAll(local.Containers.Values.Where(c => !c.Exited).Select(c => runtime.StopAsync(c.RuntimeId, config.ContainerStopTimeout, cancellationToken)));
                local.Stopped = true;
                local.StoppedAt = clock.GetUtcNow();
                await plane.SubmitTaskStateAsync(new TaskStateChange(arn, Stopped, null, await FinalStatesAsync(local, cancellationToken), ExecutionStoppedAt: clock.GetUtcNow()), cancellationToken);
                Log.Exited(logger, arn, string.Join(", ", exited.Select(e => $"{e.Name}={e.ExitCode}")));
            }
            else
            {
                await plane.SubmitTaskStateAsync(new TaskStateChange(arn, Running, null, exited), cancellationToken);
            }
        }
    }

    private async Task CleanUpAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        foreach (var (arn, local) in _tasks.Where(t => t.Value.Stopped && now - t.Value.StoppedAt >= config.TaskCleanupWait).ToList())
        {
            foreach (var container in local.Containers.Values)
            {
                await runtime.RemoveAsync(container.RuntimeId, cancellationToken);
            }

            _tasks.Remove(arn);
        }
    }

    private async Task<List<ContainerStateChange>> FinalStatesAsync(LocalTask local, CancellationToken cancellationToken)
    {
        var states = new List<ContainerStateChange>();
        foreach (var (name, container) in local.Containers)
        {
            states.Add(await FinalAsync(name, container, await runtime.InspectAsync(container.RuntimeId, cancellationToken), cancellationToken));
        }

        return states;
    }

    private async Task<List<ContainerStateChange>> RunningStatesAsync(LocalTask local, CancellationToken cancellationToken)
    {
        var states = new List<ContainerStateChange>();
        foreach (var (name, container) in local.Containers.Where(c => !c.Value.Exited))
        {
            var state = await runtime.InspectAsync(container.RuntimeId, cancellationToken);
            container.Health = state.Health;
            states.Add(new ContainerStateChange(name, Running, null, null, container.RuntimeId, state.Bindings, await runtime.LogTailAsync(container.RuntimeId, LogTailCharacters, cancellationToken), state.Health));
        }

        return states;
    }

    private async Task<ContainerStateChange> FinalAsync(string name, LocalContainer container, ContainerState state, CancellationToken cancellationToken) =>
        new(name, Stopped, state.ExitCode, state.OomKilled ? "OutOfMemoryError: Container killed due to memory usage" : state.Error, container.RuntimeId, [],
            await runtime.LogTailAsync(container.RuntimeId, LogTailCharacters, cancellationToken));

    /// <summary>Adopted containers learn which of them are essential from the task definition.</summary>
    private static void MarkEssentials(LocalTask local, AssignedTask task)
    {
        foreach (var definition in task.TaskDefinition["containerDefinitions"]!.AsArray())
        {
            if (local.Containers.TryGetValue((string)definition!["name"]!, out var container))
            {
                container.Essential = (bool?)definition["essential"] ?? true;
            }
        }
    }

    private sealed class LocalTask
    {
        public long Version { get; set; }

        public AssignedTask? Assigned { get; set; }

        public Dictionary<string, LocalContainer> Containers { get; } = new(StringComparer.Ordinal);

        public bool Stopped { get; set; }

        public DateTimeOffset StoppedAt { get; set; }

        public DateTimeOffset LogsSentAt { get; set; }
    }

    private sealed class LocalContainer(string runtimeId, bool Essential)
    {
        public string RuntimeId { get; } = runtimeId;

        public bool Essential { get; set; } = Essential;

        public bool Exited { get; set; }

        public string Health { get; set; } = "UNKNOWN";
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Started task {TaskArn} ({Count} containers)")]
        public static partial void Started(ILogger logger, string taskArn, int count);

        [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Task {TaskArn} failed to start: {Reason}")]
        public static partial void StartFailed(ILogger logger, string taskArn, string reason);

        [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "Stopped task {TaskArn}")]
        public static partial void Stopped(ILogger logger, string taskArn);

        [LoggerMessage(EventId = 6004, Level = LogLevel.Information, Message = "Task {TaskArn} exited: {ExitCodes}")]
        public static partial void Exited(ILogger logger, string taskArn, string exitCodes);

        [LoggerMessage(EventId = 6005, Level = LogLevel.Information, Message = "Adopted task {TaskArn} ({Count} containers) from the runtime")]
        public static partial void Adopted(ILogger logger, string taskArn, int count);

        [LoggerMessage(EventId = 6006, Level = LogLevel.Warning, Message = "The control plane no longer knows task {TaskArn}; stopping its containers")]
        public static partial void Unknown(ILogger logger, string taskArn);
    }
}

/// <summary>The task cannot start on this instance; the message is its stoppedReason.</summary>
public sealed class TaskStartException(string message) : Exception(message);
