using System.Globalization;
using System.Text.Json;
using Docker.DotNet;
using Microsoft.Extensions.Logging;
using Registry.Agent.Config;
using Registry.Agent.ControlPlane;
using Registry.Agent.Credentials;
using Registry.Agent.Runtimes;
using Registry.Agent.Tasks;

namespace Registry.Agent;

/// <summary>
/// <c>registry agent</c>: picks the runtime, registers this machine (again under the same ARN after a
/// restart, from the state in ECS_DATADIR), adopts the containers it already runs, then polls the
/// control plane — the poll is the heartbeat — and reconciles after every answer.
/// </summary>
public sealed partial class AgentHost(AgentConfig config, ILoggerFactory loggers, TimeProvider clock)
{
    /// <summary>How long one poll may wait for news; also how often containers are checked for exits.</summary>
    private static readonly TimeSpan PollWait = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger = loggers.CreateLogger("Registry.Agent");

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var runtime = await SelectRuntimeAsync(cancellationToken);
        using var http = new HttpClient { BaseAddress = config.Endpoint, Timeout = PollWait + TimeSpan.FromSeconds(30) };
        var plane = new ControlPlaneClient(http, config);
        var state = AgentState.Load(config.DataDirectory);
        var credentials = config.TaskIamRoles ? TaskCredentials.Load(config.DataDirectory) : null;
        await using var endpoint = credentials is null ? null : new CredentialsEndpoint(credentials, config.CredentialsPort, loggers);
        if (endpoint is not null)
        {
            try
            {
                await endpoint.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                throw new AgentConfigException($"ECS_ENABLE_TASK_IAM_ROLE=true, but the credentials endpoint cannot listen on 127.0.0.1:{config.CredentialsPort}: {e.Message} (another agent on this machine? set ECS_CREDENTIALS_PORT)");
            }

            await CredentialsRoute.RouteAsync(config.CredentialsPort, _logger, cancellationToken);
        }

        var arn = await RegisterUntilAnsweredAsync(plane, runtime, state, cancellationToken);
        var tasks = new TaskManager(plane, runtime, config, clock, loggers.CreateLogger<TaskManager>(), credentials);
        await tasks.RecoverAsync(cancellationToken);
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var poll = await plane.PollAsync(arn, tasks.Known, PollWait, cancellationToken);
                await tasks.ReconcileAsync(poll.Tasks, cancellationToken);
                failures = 0;
            }
            catch (ControlPlaneException e) when (e.Type == "ClientException")
            {
                // Deregistered while away: register as a new instance.
                Log.Reregistering(_logger, e.Message);
                arn = await RegisterAsync(plane, runtime, state with { ContainerInstanceArn = null }, cancellationToken);
            }
            catch (Exception e) when (IsUnreachable(e, cancellationToken))
            {
                await WaitAfterFailureAsync(e, ++failures, cancellationToken);
            }
        }
    }

    /// <summary>ECS_RUNTIME's choice, or Docker where an engine answers and runc otherwise, as the ECS agent prefers Docker.</summary>
    private async Task<ITaskRuntime> SelectRuntimeAsync(CancellationToken cancellationToken)
    {
        if (config.Runtime == "runc")
        {
            return RuncRuntime.Problem() is { } problem
                ? throw new AgentConfigException($"ECS_RUNTIME=runc, but {problem}.")
                : new RuncRuntime(config);
        }

        var docker = new DockerClientConfiguration(config.DockerEndpoint).CreateClient();
        if (await DockerRuntime.ProbeAsync(docker, config.DockerEndpoint, cancellationToken) is not { } dockerProblem)
        {
            return new DockerRuntime(docker, config);
        }

        docker.Dispose();
        if (config.Runtime == "docker")
        {
            throw new AgentConfigException($"ECS_RUNTIME=docker, but {dockerProblem} (set DOCKER_HOST, or start the engine).");
        }

        return RuncRuntime.Problem() is { } runcProblem
            ? throw new AgentConfigException($"No runtime can run tasks here: {dockerProblem}; and for runc, {runcProblem}.")
            : new RuncRuntime(config);
    }

    /// <summary>
    /// Registers, waiting for a control plane that is not up yet (or restarting) as polling does; one that
    /// answers no (bad credentials, no such cluster) ends the agent with its reason.
    /// </summary>
    private async Task<string> RegisterUntilAnsweredAsync(ControlPlaneClient plane, ITaskRuntime runtime, AgentState state, CancellationToken cancellationToken)
    {
        for (var failures = 1; ; failures++)
        {
            try
            {
                return await RegisterAsync(plane, runtime, state, cancellationToken);
            }
            catch (ControlPlaneException e) when (e.Refused)
            {
                throw new AgentConfigException($"The control plane at {config.Endpoint} refused to register this instance: {e.Message}");
            }
            catch (Exception e) when (IsUnreachable(e, cancellationToken))
            {
                await WaitAfterFailureAsync(e, failures, cancellationToken);
            }
        }
    }

    /// <summary>The control plane did not answer (or answered with a failure that may pass); not the agent stopping.</summary>
    private static bool IsUnreachable(Exception e, CancellationToken cancellationToken) =>
        e is HttpRequestException or ControlPlaneException or TaskCanceledException && !cancellationToken.IsCancellationRequested;

    /// <summary>Logs the failure and backs off: 2 s per failure in a row, at most 30 s.</summary>
    private async Task WaitAfterFailureAsync(Exception failure, int failures, CancellationToken cancellationToken)
    {
        Log.ControlPlaneUnreachable(_logger, failure.Message, failures);
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, failures * 2)), clock, cancellationToken);
    }

    private async Task<string> RegisterAsync(ControlPlaneClient plane, ITaskRuntime runtime, AgentState state, CancellationToken cancellationToken)
    {
        var attributes = new Dictionary<string, string>(config.Attributes, StringComparer.Ordinal)
        {
            ["registry.runtime"] = runtime.Name,
            ["ecs.os-type"] = "linux",
            ["ecs.cpu-architecture"] = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant() switch { "x64" => "x86_64", "arm64" => "arm64", var other => other },
        };
        if (config.TaskIamRoles)
        {
            attributes["com.amazonaws.ecs.capability.task-iam-role"] = "";
        }

        var memory = TotalMemoryMiB() - config.ReservedMemory;
        var registration = new InstanceRegistration(state.HostId, Environment.ProcessorCount * 1024, memory, AgentVersion, attributes, state.ContainerInstanceArn);
        string arn;
        try
        {
            arn = await plane.RegisterAsync(registration, cancellationToken);
        }
        catch (ControlPlaneException e) when (e.Type == "InvalidParameterException" && state.ContainerInstanceArn is not null)
        {
            Log.Reregistering(_logger, e.Message);
            arn = await plane.RegisterAsync(registration with { ContainerInstanceArn = null }, cancellationToken);
        }

        (state with { ContainerInstanceArn = arn }).Save(config.DataDirectory);
        Log.Registered(_logger, arn, config.Cluster, runtime.Name, registration.Cpu, memory);
        return arn;
    }

    private static int TotalMemoryMiB()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return (int)(long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024);
    }

    private static string AgentVersion => typeof(AgentHost).Assembly.GetName().Version?.ToString() ?? "0";

    private static partial class Log
    {
        [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Registered {Arn} in cluster {Cluster}: runtime {Runtime}, {Cpu} cpu units, {Memory} MiB")]
        public static partial void Registered(ILogger logger, string arn, string cluster, string runtime, int cpu, int memory);

        [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Registering again: {Reason}")]
        public static partial void Reregistering(ILogger logger, string reason);

        [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Control plane unreachable ({Reason}); attempt {Attempt}, retrying")]
        public static partial void ControlPlaneUnreachable(ILogger logger, string reason, int attempt);
    }
}

/// <summary>What the agent keeps in ECS_DATADIR across restarts: its host id and the ARN it registered under.</summary>
internal sealed record AgentState(string HostId, string? ContainerInstanceArn)
{
    private const string FileName = "agent-state.json";

    public static AgentState Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (File.Exists(path))
        {
            return JsonSerializer.Deserialize<AgentState>(File.ReadAllText(path)) ?? throw new AgentConfigException($"{path} is empty; remove it to register as a new instance.");
        }

        return new AgentState("i-" + Guid.NewGuid().ToString("N")[..17], null);
    }

    /// <summary>Written to a temporary file and renamed, so a crash never leaves half a state file.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this));
        File.Move(temporary, path, overwrite: true);
    }
}
