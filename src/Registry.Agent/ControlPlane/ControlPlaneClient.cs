using System.Text.Json;
using System.Text.Json.Nodes;
using Registry.Agent.Config;
using Registry.Security.SigV4;

namespace Registry.Agent.ControlPlane;

/// <summary>
/// The agent's calls to the control plane: ECS's JSON API, signed with the agent's access key for
/// service <c>ecs</c> — RegisterContainerInstance, the long Poll that is also the heartbeat, and
/// SubmitTaskStateChange.
/// </summary>
public sealed class ControlPlaneClient(HttpClient http, AgentConfig config)
{
    private const string TargetPrefix = "AmazonEC2ContainerServiceV20141113.";

    private readonly SigV4Signer _signer = new(config.AccessKeyId, config.SecretAccessKey, config.Region, "ecs");

    public async Task<string> RegisterAsync(InstanceRegistration registration, CancellationToken cancellationToken)
    {
        var attributes = registration.Attributes.Select(a => new JsonObject { ["name"] = a.Key, ["value"] = a.Value });
        var request = new JsonObject
        {
            ["cluster"] = config.Cluster,
            ["instanceIdentityDocument"] = JsonSerializer.Serialize(new { instanceId = registration.HostId }),
            ["totalResources"] = new JsonArray(
                new JsonObject { ["name"] = "CPU", ["type"] = "INTEGER", ["integerValue"] = registration.Cpu },
                new JsonObject { ["name"] = "MEMORY", ["type"] = "INTEGER", ["integerValue"] = registration.Memory },
                new JsonObject { ["name"] = "PORTS", ["type"] = "STRINGSET", ["stringSetValue"] = new JsonArray([.. config.ReservedPorts.Select(p => JsonValue.Create(p.ToString(System.Globalization.CultureInfo.InvariantCulture)))]) }),
            ["versionInfo"] = new JsonObject { ["agentVersion"] = registration.AgentVersion },
            ["attributes"] = new JsonArray([.. attributes]),
        };
        if (registration.ContainerInstanceArn is { } arn)
        {
            request["containerInstanceArn"] = arn;
        }

        var response = await CallAsync("RegisterContainerInstance", request, cancellationToken);
        return response["containerInstance"]!["containerInstanceArn"]!.GetValue<string>();
    }

    /// <summary>Waits up to <paramref name="wait"/> for a change to the instance's tasks; returns them all.</summary>
    public async Task<PollResult> PollAsync(string containerInstanceArn, IEnumerable<(string TaskArn, long Version)> known, TimeSpan wait, CancellationToken cancellationToken)
    {
        var request = new JsonObject
        {
            ["cluster"] = config.Cluster,
            ["containerInstance"] = containerInstanceArn,
            ["knownTasks"] = new JsonArray([.. known.Select(k => new JsonObject { ["taskArn"] = k.TaskArn, ["version"] = k.Version })]),
            ["waitSeconds"] = (int)wait.TotalSeconds,
        };
        var response = await CallAsync("Poll", request, cancellationToken);
        var tasks = response["tasks"]!.AsArray().Select(t => new AssignedTask(
            t!["taskArn"]!.GetValue<string>(),
            t["version"]!.GetValue<long>(),
            t["desiredStatus"]!.GetValue<string>(),
            t["lastStatus"]!.GetValue<string>(),
            t["taskDefinition"]!.AsObject(),
            t["overrides"]?.AsObject() ?? [],
            t["roleCredentials"] as JsonObject,
            t["executionRoleCredentials"] as JsonObject)).ToList();
        return new PollResult(tasks, TimeSpan.FromSeconds(response["heartbeatSeconds"]?.GetValue<int>() ?? 20));
    }

    /// <summary>
    /// The registry login of a task's execution role (ECR's GetAuthorizationToken signed with the role's
    /// temporary credentials), which the task's images on this registry are pulled with.
    /// </summary>
    public async Task<RegistryLogin> ExecutionRoleLoginAsync(JsonObject credentials, CancellationToken cancellationToken)
    {
        var signer = new SigV4Signer((string)credentials["accessKeyId"]!, (string)credentials["secretAccessKey"]!, config.Region, "ecr", (string?)credentials["sessionToken"]);
        using var message = signer.JsonCall(http.BaseAddress!.Authority, "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken", "{}", DateTimeOffset.UtcNow, Guid.NewGuid().ToString());
        using var response = await http.SendAsync(message, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var token = response.IsSuccessStatusCode ? (string?)JsonNode.Parse(text)?["authorizationData"]?[0]?["authorizationToken"] : null;
        var login = token is null ? null : System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token));
        return login?.IndexOf(':', StringComparison.Ordinal) is int colon and > 0
            ? new RegistryLogin(login[..colon], login[(colon + 1)..])
            : throw new Runtimes.ImagePullException($"CannotPullContainerError: the execution role {(string?)credentials["roleArn"]} could not log in to {http.BaseAddress.Authority}: {text.Trim()}");
    }

    public Task SubmitTaskStateAsync(TaskStateChange change, CancellationToken cancellationToken)
    {
        var request = new JsonObject
        {
            ["cluster"] = config.Cluster,
            ["task"] = change.TaskArn,
            ["status"] = change.Status,
            ["reason"] = change.Reason,
            ["containers"] = new JsonArray([.. change.Containers.Select(c => new JsonObject
            {
                ["containerName"] = c.Name,
                ["status"] = c.Status,
                ["exitCode"] = c.ExitCode,
                ["reason"] = c.Reason,
                ["runtimeId"] = c.RuntimeId,
                ["logTail"] = c.LogTail,
                ["healthStatus"] = c.HealthStatus,
                ["networkBindings"] = new JsonArray([.. c.NetworkBindings.Select(b => new JsonObject { ["bindIP"] = b.BindIP, ["containerPort"] = b.ContainerPort, ["hostPort"] = b.HostPort, ["protocol"] = b.Protocol })]),
            })]),
        };
        foreach (var (name, time) in new[] { ("pullStartedAt", change.PullStartedAt), ("pullStoppedAt", change.PullStoppedAt), ("executionStoppedAt", change.ExecutionStoppedAt) })
        {
            if (time is { } value)
            {
                request[name] = value.ToUnixTimeMilliseconds() / 1000.0;
            }
        }

        return CallAsync("SubmitTaskStateChange", request, cancellationToken);
    }

    private async Task<JsonObject> CallAsync(string operation, JsonObject request, CancellationToken cancellationToken)
    {
        using var message = _signer.JsonCall(http.BaseAddress!.Authority, TargetPrefix + operation, request.ToJsonString(), DateTimeOffset.UtcNow, Guid.NewGuid().ToString());
        using var response = await http.SendAsync(message, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonObject body;
        try
        {
            body = text.Length == 0 ? [] : JsonNode.Parse(text) as JsonObject ?? [];
        }
        catch (JsonException)
        {
            // Not the control plane answering (a proxy's error page, say).
            body = [];
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new ControlPlaneException((string?)body["__type"] ?? response.StatusCode.ToString(), (string?)body["message"] ?? text)
            {
                Refused = (int)response.StatusCode is >= 400 and < 500 and not 429,
            };
        }

        return body;
    }
}

/// <summary>What the agent registers: its resources, attributes, and the ARN it had before a restart.</summary>
public sealed record InstanceRegistration(string HostId, int Cpu, int Memory, string AgentVersion, IReadOnlyDictionary<string, string> Attributes, string? ContainerInstanceArn);

/// <summary>A task the control plane assigned to this instance, at one version, with its task role's and execution role's current credentials if it has them.</summary>
public sealed record AssignedTask(string TaskArn, long Version, string DesiredStatus, string LastStatus, JsonObject TaskDefinition, JsonObject Overrides, JsonObject? RoleCredentials = null, JsonObject? ExecutionRoleCredentials = null);

public sealed record PollResult(IReadOnlyList<AssignedTask> Tasks, TimeSpan Heartbeat);

/// <summary>A task's new state as the agent reports it.</summary>
public sealed record TaskStateChange(
    string TaskArn,
    string Status,
    string? Reason,
    IReadOnlyList<ContainerStateChange> Containers,
    DateTimeOffset? PullStartedAt = null,
    DateTimeOffset? PullStoppedAt = null,
    DateTimeOffset? ExecutionStoppedAt = null);

/// <summary>One container's new state; <see cref="LogTail"/> is the end of its output, which the control plane keeps for users.</summary>
public sealed record ContainerStateChange(string Name, string Status, int? ExitCode, string? Reason, string? RuntimeId, IReadOnlyList<PortBinding> NetworkBindings, string? LogTail = null, string? HealthStatus = null);

public sealed record PortBinding(string BindIP, int ContainerPort, int HostPort, string Protocol);

/// <summary>The control plane refused a call: its AWS error type and message.</summary>
public sealed class ControlPlaneException : Exception
{
    public ControlPlaneException()
    {
        Type = "";
    }

    public ControlPlaneException(string message)
        : base(message) => Type = "";

    public ControlPlaneException(string message, Exception innerException)
        : base(message, innerException) => Type = "";

    public ControlPlaneException(string type, string message)
        : base($"{type}: {message}") => Type = type;

    public string Type { get; }

    /// <summary>The control plane answered and said no (a 4xx other than throttling): trying again will not help.</summary>
    public bool Refused { get; init; }
}
