using System.Text.Json;
using Registry.Agent.Config;
using Registry.Agent.Images;

namespace Registry.Agent.Runtimes;

/// <summary>
/// Runs containers without a daemon: the agent pulls the image itself, builds the root filesystem from
/// its layers, writes the OCI runtime spec and starts runc under conmon, which stays with the container
/// so its exit code (and an OOM kill) and its log survive the agent. Everything lives under
/// <c>ECS_DATADIR/runc</c>: a bundle per container with the task it belongs to, runc's state, conmon's
/// exit files. networkMode host, none, and bridge through the CNI plugins (<see cref="CniBridge"/>).
/// </summary>
public sealed class RuncRuntime : ITaskRuntime
{
    private const string Runc = "runc";
    private const string Conmon = "conmon";
    private static readonly TimeSpan CreateTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LogRotationInterval = TimeSpan.FromSeconds(1);

    private readonly AgentConfig _config;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(30) };
    private readonly ImagePuller _puller;
    private readonly RuncHealth _health;
    private readonly CniBridge _bridge;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _logRotation;

    public RuncRuntime(AgentConfig config)
    {
        _config = config;
        _puller = new ImagePuller(_http, config.Credentials, Path.Combine(config.DataDirectory, "blobs"));
        _health = new RuncHealth(ExecuteAsync);
        _bridge = new CniBridge(config.RuncBridgeSubnet);
        _logRotation = RotateLogsAsync(_stopping.Token);
    }

    private string Base => Path.Combine(_config.DataDirectory, "runc");

    private string StateRoot => Path.Combine(Base, "state");

    private string Exits => Path.Combine(Base, "exits");

    public string Name => "runc";

    /// <summary>Why this machine cannot run the runc runtime; null when it can.</summary>
    public static string? Problem()
    {
        foreach (var tool in new[] { Runc, Conmon })
        {
            if (!File.Exists(Tools.Which(tool)))
            {
                return $"{tool} is not installed (apt-get install runc conmon)";
            }
        }

        return Environment.IsPrivilegedProcess ? null : "the runc runtime needs the agent to run as root";
    }

    public async Task<string> StartAsync(ContainerSpec spec, CancellationToken cancellationToken)
    {
        if (spec.NetworkMode is not ("host" or "none" or "bridge"))
        {
            throw new ImagePullException($"CannotStartContainerError: networkMode {spec.NetworkMode} is not available on the runc runtime: bridge, host or none");
        }

        if (spec.NetworkMode == "bridge" && CniBridge.Problem() is { } problem)
        {
            throw new ImagePullException($"CannotStartContainerError: networkMode bridge on the runc runtime needs {problem}");
        }

        var logs = RuncLogs.From(spec.LogOptions);
        var image = await _puller.PullAsync(spec.Image, cancellationToken, spec.PullLogin);
        var id = ContainerNames.For(spec);
        var bundle = Bundle(id);
        if (Directory.Exists(bundle))
        {
            await RemoveAsync(id, cancellationToken);
        }

        var rootfs = Path.Combine(bundle, "rootfs");
        try
        {
            foreach (var layer in image.Layers)
            {
                await using var stream = File.OpenRead(layer);
                await LayerApplier.ApplyAsync(rootfs, stream, cancellationToken);
            }
        }
        catch (LayerException e)
        {
            throw new ImagePullException($"CannotPullContainerError: {spec.Image}: {e.Message}", e);
        }

        string? networkNamespace = null;
        if (spec.NetworkMode == "bridge")
        {
            var published = await CniBridge.PublishedPortsAsync(cancellationToken);
            var hostPorts = DynamicHostPorts.For(spec, [.. _config.ReservedPorts, .. published]);
            if (spec.PortMappings.FirstOrDefault(m => m.HostPort != 0 && published.Contains(m.HostPort)) is { } taken)
            {
                throw new ImagePullException($"CannotStartContainerError: host port {taken.HostPort} is already published for another container");
            }

            await _bridge.AttachAsync(id, bundle, [.. spec.PortMappings.Zip(hostPorts, (m, h) => new ControlPlane.PortBinding("0.0.0.0", m.ContainerPort, h, m.Protocol))], cancellationToken);
            networkNamespace = CniBridge.NamespacePath(id);
        }

        try
        {
            return await CreateAsync(id, bundle, spec, image, logs, networkNamespace, cancellationToken);
        }
        catch
        {
            await _bridge.DetachAsync(id, bundle, CancellationToken.None);
            throw;
        }
    }

    /// <summary>Writes the bundle's spec and starts the container under conmon.</summary>
    private async Task<string> CreateAsync(string id, string bundle, ContainerSpec spec, PulledImage image, RuncLogs logs, string? networkNamespace, CancellationToken cancellationToken)
    {
        var rootfs = Path.Combine(bundle, "rootfs");
        var hostname = id.Length > 63 ? id[..63] : id;
        await File.WriteAllTextAsync(Path.Combine(bundle, "config.json"), RuncSpec.Create(hostname, spec, image.Config, RuncSpec.FileLimit(), rootfs, networkNamespace).ToJsonString(), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(bundle, "task.json"), JsonSerializer.Serialize(new BundleOwner(spec.Cluster, spec.TaskArn, spec.Name)), cancellationToken);
        Directory.CreateDirectory(Path.Combine(bundle, "persist"));
        RuncHealth.Save(bundle, spec.HealthCheck);
        logs.Prepare(bundle);
        Directory.CreateDirectory(Path.Combine(Base, "sockets"));
        Directory.CreateDirectory(Exits);
        File.Delete(Path.Combine(Exits, id));

        var pidFile = Path.Combine(bundle, "pid");
        var conmon = await Tools.RunAsync(Conmon, [
            "--api-version", "1", "-c", id, "-u", id, "-n", id, "-r", Tools.Which(Runc), "-b", bundle, "-p", pidFile,
            "-l", "k8s-file:" + LogPath(id), "--log-size-max", logs.MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--exit-dir", Exits, "--persist-dir", Path.Combine(bundle, "persist"), "--socket-dir-path", Path.Combine(Base, "sockets"),
            "--conmon-pidfile", Path.Combine(bundle, "conmon.pid"), "--runtime-arg", "--root=" + StateRoot,
        ], cancellationToken);
        if (conmon.ExitCode != 0)
        {
            throw new ImagePullException($"CannotStartContainerError: conmon: {conmon.Error.Trim()}");
        }

        // conmon returns before runc has created the container; runc writes the pid file when it has.
        var deadline = DateTime.UtcNow + CreateTimeout;
        while (!File.Exists(pidFile))
        {
            if (DateTime.UtcNow > deadline || File.Exists(Path.Combine(Exits, id)))
            {
                throw new ImagePullException($"CannotStartContainerError: runc did not create container {id}: {Tail(LogPath(id))}");
            }

            await Task.Delay(50, cancellationToken);
        }

        var started = await Tools.RunAsync(Runc, ["--root", StateRoot, "start", id], cancellationToken);
        if (started.ExitCode != 0)
        {
            throw new ImagePullException($"CannotStartContainerError: runc start: {started.Error.Trim()}");
        }

        return id;
    }

    public async Task StopAsync(string runtimeId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await Tools.RunAsync(Runc, ["--root", StateRoot, "kill", runtimeId, "TERM"], cancellationToken);
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && (await InspectAsync(runtimeId, cancellationToken)).Running)
        {
            await Task.Delay(100, cancellationToken);
        }

        if ((await InspectAsync(runtimeId, cancellationToken)).Running)
        {
            await Tools.RunAsync(Runc, ["--root", StateRoot, "kill", runtimeId, "KILL"], cancellationToken);
        }

        // conmon writes the exit code once it has reaped the container.
        var reaped = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!File.Exists(Path.Combine(Exits, runtimeId)) && DateTime.UtcNow < reaped && Directory.Exists(Bundle(runtimeId)))
        {
            await Task.Delay(50, cancellationToken);
        }

        await _bridge.DetachAsync(runtimeId, Bundle(runtimeId), cancellationToken);
    }

    public async Task<ContainerState> InspectAsync(string runtimeId, CancellationToken cancellationToken)
    {
        var exitFile = Path.Combine(Exits, runtimeId);
        if (File.Exists(exitFile))
        {
            // Exited on its own: its address and published ports go now, not at cleanup hours later.
            await _bridge.DetachAsync(runtimeId, Bundle(runtimeId), cancellationToken);
            var text = (await File.ReadAllTextAsync(exitFile, cancellationToken)).Trim();
            var oom = File.Exists(Path.Combine(Bundle(runtimeId), "persist", "oom"));
            return new ContainerState(false, int.TryParse(text, out var code) ? code : null, oom, null, []);
        }

        var state = await Tools.RunAsync(Runc, ["--root", StateRoot, "state", runtimeId], cancellationToken);
        if (state.ExitCode != 0)
        {
            return new ContainerState(false, null, false, "The container is gone from runc.", []);
        }

        using var json = JsonDocument.Parse(state.Output);
        var running = json.RootElement.GetProperty("status").GetString() is "running" or "created" or "paused";
        var health = running ? await _health.CheckAsync(runtimeId, Bundle(runtimeId), DateTimeOffset.UtcNow, cancellationToken) : "UNKNOWN";
        return new ContainerState(running, null, false, null, CniBridge.Bindings(Bundle(runtimeId)), health);
    }

    /// <summary>The log's last lines without conmon's prefix (time, stream, partial flag).</summary>
    public async Task<string> LogTailAsync(string runtimeId, int maxCharacters, CancellationToken cancellationToken)
    {
        var lines = (await RuncLogs.TailAsync(Bundle(runtimeId), 4 * maxCharacters, cancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', 4) is [_, _, var flag, var text] ? text + (flag == "F" ? "\n" : "") : "");
        var tail = string.Concat(lines);
        return tail.Length > maxCharacters ? tail[^maxCharacters..] : tail;
    }

    public async Task RemoveAsync(string runtimeId, CancellationToken cancellationToken)
    {
        await Tools.RunAsync(Runc, ["--root", StateRoot, "delete", "--force", runtimeId], cancellationToken);
        await _bridge.DetachAsync(runtimeId, Bundle(runtimeId), cancellationToken);
        _health.Forget(runtimeId);
        File.Delete(Path.Combine(Exits, runtimeId));
        if (Directory.Exists(Bundle(runtimeId)))
        {
            Directory.Delete(Bundle(runtimeId), recursive: true);
        }
    }

    public Task<IReadOnlyList<RuntimeContainer>> ListAsync(string cluster, CancellationToken cancellationToken)
    {
        var containers = new List<RuntimeContainer>();
        var root = Path.Combine(Base, "containers");
        if (Directory.Exists(root))
        {
            foreach (var bundle in Directory.EnumerateDirectories(root))
            {
                var owner = Path.Combine(bundle, "task.json");
                if (File.Exists(owner) && JsonSerializer.Deserialize<BundleOwner>(File.ReadAllText(owner)) is { } found && found.Cluster == cluster)
                {
                    containers.Add(new RuntimeContainer(Path.GetFileName(bundle), found.TaskArn, found.Container));
                }
            }
        }

        return Task.FromResult<IReadOnlyList<RuntimeContainer>>(containers);
    }

    /// <summary>The container's log (conmon's k8s-file format: time, stream, tag, line).</summary>
    public string LogPath(string runtimeId) => Path.Combine(Bundle(runtimeId), RuncLogs.FileName);

    public void Dispose()
    {
        _stopping.Cancel();
        _logRotation.Wait(TimeSpan.FromSeconds(5));
        _stopping.Dispose();
        _http.Dispose();
    }

    /// <summary>Checks every container's log each <see cref="LogRotationInterval"/>: conmon replaces a full log, this loop keeps the one it replaced.</summary>
    private async Task RotateLogsAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(LogRotationInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var root = Path.Combine(Base, "containers");
                foreach (var bundle in Directory.Exists(root) ? Directory.GetDirectories(root) : [])
                {
                    try
                    {
                        RuncLogs.Rotate(bundle);
                    }
                    catch (IOException)
                    {
                        // The container was removed while its log was looked at; the next tick sees the rest.
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The agent is stopping; the containers and their logs stay.
        }
    }

    private string Bundle(string id) => Path.Combine(Base, "containers", id);

    private static string Tail(string path) => File.Exists(path) ? string.Join(" | ", File.ReadLines(path).TakeLast(3)) : "no output";

    /// <summary>The tool's path on PATH or in /usr/sbin and /usr/bin (a non-login root shell may lack the sbin directories).</summary>
    /// <summary>Runs a command inside the container; true when it exits 0 within <paramref name="timeout"/>.</summary>
    private async Task<bool> ExecuteAsync(string runtimeId, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            return (await Tools.RunAsync(Runc, ["--root", StateRoot, "exec", runtimeId, .. command], limit.Token)).ExitCode == 0;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private sealed record BundleOwner(string Cluster, string TaskArn, string Container);
}
