using System.Globalization;
using System.Text.Json;

namespace Registry.Agent.Config;

/// <summary>
/// The agent's settings, read from an ecs.config-style file (<c>KEY=value</c> lines, <c>#</c> comments)
/// with the ECS agent's keys and defaults, plus where the control plane is and how to sign calls to it.
/// Values from the process environment override the file, as with the ECS agent.
/// </summary>
public sealed record AgentConfig
{
    public required string Cluster { get; init; }

    /// <summary>The control plane (<c>ECS_BACKEND_HOST</c>, e.g. <c>http://registry:5000</c>).</summary>
    public required Uri Endpoint { get; init; }

    public required string AccessKeyId { get; init; }

    public required string SecretAccessKey { get; init; }

    public required string Region { get; init; }

    public required RegistryCredentials Credentials { get; init; }

    public required IReadOnlyList<string> LoggingDrivers { get; init; }

    /// <summary>ECS_ENABLE_TASK_IAM_ROLE: tasks get their role's credentials from the agent's credentials endpoint.</summary>
    public required bool TaskIamRoles { get; init; }

    /// <summary>
    /// The loopback port of the credentials endpoint: 51679 as the ECS agent's, or ECS_CREDENTIALS_PORT
    /// (a registry addition, for more than one agent on one machine).
    /// </summary>
    public int CredentialsPort { get; init; } = DefaultCredentialsPort;

    public const int DefaultCredentialsPort = 51679;

    /// <summary>The subnet of the runc runtime's bridge (ECS_RUNC_BRIDGE_SUBNET, a registry addition), each bridge container getting an address in it.</summary>
    public string RuncBridgeSubnet { get; init; } = DefaultRuncBridgeSubnet;

    public const string DefaultRuncBridgeSubnet = "172.30.0.0/16";

    /// <summary>MiB of memory kept from tasks (<c>ECS_RESERVED_MEMORY</c>).</summary>
    public required int ReservedMemory { get; init; }

    public required IReadOnlyList<int> ReservedPorts { get; init; }

    public required TimeSpan ContainerStopTimeout { get; init; }

    public required string DataDirectory { get; init; }

    public required TimeSpan TaskCleanupWait { get; init; }

    /// <summary><c>docker</c>, <c>runc</c>, or null to use Docker where an engine answers.</summary>
    public required string? Runtime { get; init; }

    /// <summary>The Docker engine's endpoint (<c>DOCKER_HOST</c>).</summary>
    public required Uri DockerEndpoint { get; init; }

    /// <summary>Attributes the user gives the instance (<c>ECS_INSTANCE_ATTRIBUTES</c>, a JSON object).</summary>
    public required IReadOnlyDictionary<string, string> Attributes { get; init; }

    private static readonly int[] DefaultReservedPorts = [22, 2375, 2376, 51678, 51679];

    public static AgentConfig Load(string path, IReadOnlyDictionary<string, string> environment)
    {
        if (!File.Exists(path))
        {
            throw new AgentConfigException($"No agent configuration at {path}.");
        }

        var values = ParseFile(File.ReadAllLines(path));
        foreach (var (key, value) in environment)
        {
            if (key.StartsWith("ECS_", StringComparison.Ordinal) || key.StartsWith("AWS_", StringComparison.Ordinal) || key == "DOCKER_HOST")
            {
                values[key] = value;
            }
        }

        return From(values);
    }

    /// <summary>The <c>KEY=value</c> pairs of an env file; values may be quoted.</summary>
    public static Dictionary<string, string> ParseFile(IEnumerable<string> lines)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].TrimStart();
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new AgentConfigException($"Line {number} is not KEY=value: {raw}");
            }

            var value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }

            values[line[..equals].Trim()] = value;
        }

        return values;
    }

    public static AgentConfig From(IReadOnlyDictionary<string, string> values)
    {
        string? Get(string key) => values.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
        string Required(string key) => Get(key) ?? throw new AgentConfigException($"{key} is required.");

        var endpointText = Required("ECS_BACKEND_HOST");
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            throw new AgentConfigException($"ECS_BACKEND_HOST must be an http(s) URL of the registry, not '{endpointText}'.");
        }

        var runtime = Get("ECS_RUNTIME");
        if (runtime is not (null or "docker" or "runc"))
        {
            throw new AgentConfigException($"ECS_RUNTIME must be docker or runc, not '{runtime}'.");
        }

        var authData = Get("ECS_ENGINE_AUTH_DATA");
        var dockerHost = Get("DOCKER_HOST") ?? "unix:///var/run/docker.sock";
        return new AgentConfig
        {
            Cluster = Get("ECS_CLUSTER") ?? "default",
            Endpoint = endpoint,
            AccessKeyId = Required("AWS_ACCESS_KEY_ID"),
            SecretAccessKey = Required("AWS_SECRET_ACCESS_KEY"),
            Region = Get("AWS_DEFAULT_REGION") ?? Get("AWS_REGION") ?? "us-east-1",
            Credentials = authData is null ? RegistryCredentials.None : RegistryCredentials.Parse(Get("ECS_ENGINE_AUTH_TYPE") ?? throw new AgentConfigException("ECS_ENGINE_AUTH_DATA needs ECS_ENGINE_AUTH_TYPE (docker or dockercfg)."), authData),
            LoggingDrivers = Json<string[]>(Get("ECS_AVAILABLE_LOGGING_DRIVERS"), "ECS_AVAILABLE_LOGGING_DRIVERS", "a JSON list such as [\"json-file\",\"none\"]") ?? ["json-file", "none"],
            TaskIamRoles = Bool(Get("ECS_ENABLE_TASK_IAM_ROLE"), "ECS_ENABLE_TASK_IAM_ROLE"),
            RuncBridgeSubnet = Get("ECS_RUNC_BRIDGE_SUBNET") is { } bridgeSubnet
                ? System.Net.IPNetwork.TryParse(bridgeSubnet, out var network) && network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && network.PrefixLength <= 28
                    ? bridgeSubnet : throw new AgentConfigException($"ECS_RUNC_BRIDGE_SUBNET must be an IPv4 subnet of at least 16 addresses, such as 172.30.0.0/16, not '{bridgeSubnet}'.")
                : DefaultRuncBridgeSubnet,
            CredentialsPort = Get("ECS_CREDENTIALS_PORT") is { } credentialsPort
                ? int.TryParse(credentialsPort, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535 ? port : throw new AgentConfigException($"ECS_CREDENTIALS_PORT must be a port number, not '{credentialsPort}'.")
                : DefaultCredentialsPort,
            ReservedMemory = Get("ECS_RESERVED_MEMORY") is { } memory
                ? int.TryParse(memory, NumberStyles.None, CultureInfo.InvariantCulture, out var mib) ? mib : throw new AgentConfigException($"ECS_RESERVED_MEMORY must be MiB as a whole number, not '{memory}'.")
                : 0,
            ReservedPorts = Json<int[]>(Get("ECS_RESERVED_PORTS"), "ECS_RESERVED_PORTS", "a JSON list of port numbers such as [22, 2375]") is { } ports
                ? ports.All(p => p is > 0 and <= 65535) ? ports : throw new AgentConfigException("ECS_RESERVED_PORTS must list ports from 1 to 65535.")
                : DefaultReservedPorts,
            ContainerStopTimeout = Duration(Get("ECS_CONTAINER_STOP_TIMEOUT"), "ECS_CONTAINER_STOP_TIMEOUT") ?? TimeSpan.FromSeconds(30),
            DataDirectory = Get("ECS_DATADIR") ?? "/var/lib/ecs/data",
            TaskCleanupWait = Duration(Get("ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION"), "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION") ?? TimeSpan.FromHours(3),
            Runtime = runtime,
            DockerEndpoint = Uri.TryCreate(dockerHost, UriKind.Absolute, out var docker) && docker.Scheme is "unix" or "tcp" or "http"
                ? docker
                : throw new AgentConfigException($"DOCKER_HOST must be unix:///path or tcp://host:port, not '{dockerHost}'."),
            Attributes = Json<Dictionary<string, string>>(Get("ECS_INSTANCE_ATTRIBUTES"), "ECS_INSTANCE_ATTRIBUTES", "a JSON object of names to values") ?? [],
        };
    }

    private static T? Json<T>(string? text, string key, string expected)
        where T : class
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(text) ?? throw new AgentConfigException($"{key} must be {expected}.");
        }
        catch (JsonException)
        {
            throw new AgentConfigException($"{key} must be {expected}, not '{text}'.");
        }
    }

    private static bool Bool(string? text, string key) => text switch
    {
        null => false,
        _ when bool.TryParse(text, out var value) => value,
        _ => throw new AgentConfigException($"{key} must be true or false, not '{text}'."),
    };

    private static TimeSpan? Duration(string? text, string key)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return GoDuration.Parse(text);
        }
        catch (FormatException e)
        {
            throw new AgentConfigException($"{key}: {e.Message}");
        }
    }
}
