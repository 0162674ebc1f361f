using System.Diagnostics;
using System.Text.Json.Nodes;
using Registry.Agent.ControlPlane;

namespace Registry.Agent.Runtimes;

/// <summary>
/// networkMode bridge on the runc runtime, as Docker gives it: each container in a network namespace of
/// its own, on a host bridge with an address from the bridge's subnet, outbound traffic masqueraded, and
/// its port mappings published on the host. Done with the CNI plugins of Debian's containernetworking-plugins
/// (loopback, bridge with host-local addresses, portmap) called by the CNI exec protocol; what ADD
/// returned is kept in the bundle, so DEL (at stop, after an exit, or after an agent restart) removes
/// exactly the address and the portmap chains the container had.
/// </summary>
internal sealed partial class CniBridge(string subnet)
{
    public const string PluginDirectory = "/usr/lib/cni";
    private const string BridgeName = "ecs-bridge0";
    private const string StateFile = "network.json";
    private static readonly string[] Plugins = ["bridge", "host-local", "portmap", "loopback"];

    /// <summary>Why bridge networking cannot work here; null when it can.</summary>
    public static string? Problem() =>
        Plugins.FirstOrDefault(p => !File.Exists(Path.Combine(PluginDirectory, p))) is { } missing
            ? $"the CNI plugin {missing} is not in {PluginDirectory} (apt-get install containernetworking-plugins)"
            : !File.Exists(Tools.Which("ip")) ? "the ip command (apt-get install iproute2)"
            : null;

    /// <summary>
    /// The host ports portmap publishes on this machine, for any agent (it listens on none of them, so a
    /// bind test cannot see them): the destination ports of its CNI-DN chains.
    /// </summary>
    public static async Task<HashSet<int>> PublishedPortsAsync(CancellationToken cancellationToken)
    {
        var rules = await Tools.RunAsync("iptables", ["-t", "nat", "-S"], cancellationToken);
        return [.. rules.Output.Split('\n').Where(r => r.StartsWith("-A CNI-DN-", StringComparison.Ordinal) && r.Contains("-j DNAT", StringComparison.Ordinal))
            .Select(r => DestinationPort().Match(r)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))];
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"--dport (\d+) ")]
    private static partial System.Text.RegularExpressions.Regex DestinationPort();

    public static string NamespacePath(string id) => "/var/run/netns/" + id;

    /// <summary>Creates the container's network namespace, attaches it to the bridge and publishes its ports.</summary>
    public async Task AttachAsync(string id, string bundle, IReadOnlyList<PortBinding> ports, CancellationToken cancellationToken)
    {
        var created = await Tools.RunAsync("ip", ["netns", "add", id], cancellationToken);
        if (created.ExitCode != 0 && !File.Exists(NamespacePath(id)))
        {
            throw new IOException($"CannotStartContainerError: ip netns add {id}: {created.Error.Trim()}");
        }

        var state = new JsonObject { ["ports"] = new JsonArray([.. ports.Select(p => new JsonObject { ["bindIP"] = p.BindIP, ["containerPort"] = p.ContainerPort, ["hostPort"] = p.HostPort, ["protocol"] = p.Protocol })]) };
        await File.WriteAllTextAsync(Path.Combine(bundle, StateFile), state.ToJsonString(), cancellationToken);
        try
        {
            await InvokeAsync("ADD", id, Loopback(), cancellationToken);
            var result = await InvokeAsync("ADD", id, Bridge(), cancellationToken);
            if (ports.Count > 0)
            {
                result = await InvokeAsync("ADD", id, Portmap(ports, result), cancellationToken);
            }

            state["result"] = result;
            await File.WriteAllTextAsync(Path.Combine(bundle, StateFile), state.ToJsonString(), cancellationToken);
        }
        catch
        {
            await DetachAsync(id, bundle, CancellationToken.None);
            throw;
        }
    }

    /// <summary>The host ports the container's ports were published on (none when not on the bridge).</summary>
    public static IReadOnlyList<PortBinding> Bindings(string bundle)
    {
        var path = Path.Combine(bundle, StateFile);
        return File.Exists(path) && JsonNode.Parse(File.ReadAllText(path))?["ports"] is JsonArray ports
            ? [.. ports.Select(p => new PortBinding((string)p!["bindIP"]!, (int)p["containerPort"]!, (int)p["hostPort"]!, (string)p["protocol"]!))]
            : [];
    }

    /// <summary>Undoes <see cref="AttachAsync"/> in reverse: portmap chains, the address, loopback, the namespace. Does nothing the second time.</summary>
    public async Task DetachAsync(string id, string bundle, CancellationToken cancellationToken)
    {
        var path = Path.Combine(bundle, StateFile);
        if (!File.Exists(path) || JsonNode.Parse(await File.ReadAllTextAsync(path, cancellationToken)) is not JsonObject state || state["detached"] is not null)
        {
            return;
        }

        // Each step is tried whatever became of the one before (CNI DEL may be repeated safely); what
        // failed is kept with the state rather than stopping the agent.
        var ports = Bindings(bundle);
        var result = state["result"]?.DeepClone();
        var failures = new List<string>();
        async Task StepAsync(Func<Task> step)
        {
            try
            {
                await step();
            }
            catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception or System.Text.Json.JsonException)
            {
                failures.Add(e.Message);
            }
        }

        if (ports.Count > 0)
        {
            await StepAsync(() => InvokeAsync("DEL", id, Portmap(ports, result), cancellationToken));
        }

        await StepAsync(() => InvokeAsync("DEL", id, Bridge(), cancellationToken));
        await StepAsync(() => InvokeAsync("DEL", id, Loopback(), cancellationToken));
        await StepAsync(() => Tools.RunAsync("ip", ["netns", "delete", id], cancellationToken));
        state["detached"] = true;
        state["detachFailures"] = failures.Count == 0 ? null : new JsonArray([.. failures.Select(f => JsonValue.Create(f))]);
        await File.WriteAllTextAsync(path, state.ToJsonString(), cancellationToken);
    }

    private static JsonObject Loopback() => new() { ["cniVersion"] = "1.0.0", ["name"] = "registry-lo", ["type"] = "loopback" };

    private JsonObject Bridge() => new()
    {
        ["cniVersion"] = "1.0.0",
        ["name"] = "registry-bridge",
        ["type"] = "bridge",
        ["bridge"] = BridgeName,
        ["isGateway"] = true,
        ["ipMasq"] = true,
        ["hairpinMode"] = true,
        ["ipam"] = new JsonObject
        {
            ["type"] = "host-local",
            ["ranges"] = new JsonArray(new JsonArray(new JsonObject { ["subnet"] = subnet })),
            // host-local's own store (/var/lib/cni/networks): one per machine, so agents sharing the bridge never hand out one address twice.
            ["routes"] = new JsonArray(new JsonObject { ["dst"] = "0.0.0.0/0" }),
        },
    };

    private static JsonObject Portmap(IReadOnlyList<PortBinding> ports, JsonNode? previous) => new()
    {
        ["cniVersion"] = "1.0.0",
        ["name"] = "registry-bridge",
        ["type"] = "portmap",
        ["snat"] = true,
        ["capabilities"] = new JsonObject { ["portMappings"] = true },
        ["runtimeConfig"] = new JsonObject
        {
            ["portMappings"] = new JsonArray([.. ports.Select(p => new JsonObject { ["hostPort"] = p.HostPort, ["containerPort"] = p.ContainerPort, ["protocol"] = p.Protocol })]),
        },
        ["prevResult"] = previous?.DeepClone(),
    };

    /// <summary>Runs one plugin as the CNI exec protocol says: the command in the environment, the network's configuration on stdin, the result (or error) on stdout.</summary>
    private static async Task<JsonNode?> InvokeAsync(string command, string id, JsonObject configuration, CancellationToken cancellationToken)
    {
        var plugin = (string)configuration["type"]!;
        var start = new ProcessStartInfo(Path.Combine(PluginDirectory, plugin)) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["CNI_COMMAND"] = command;
        start.Environment["CNI_CONTAINERID"] = id;
        start.Environment["CNI_NETNS"] = NamespacePath(id);
        start.Environment["CNI_IFNAME"] = plugin == "loopback" ? "lo" : "eth0";
        start.Environment["CNI_PATH"] = PluginDirectory;
        start.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(configuration.ToJsonString());
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            var message = output.Length > 0 && JsonNode.Parse(output) is JsonObject failure ? $"{(string?)failure["msg"]} {(string?)failure["details"]}".Trim() : error.Trim();
            throw new IOException($"CannotStartContainerError: CNI {plugin} {command}: {message}");
        }

        return output.Trim().Length == 0 ? null : JsonNode.Parse(output);
    }
}
