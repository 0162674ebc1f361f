using System.Text.Json;
using System.Text.Json.Serialization;

namespace Registry.Scheduler.Tasks;

/// <summary>One container of a task as ECS describes it; stored as JSON on the task.</summary>
public sealed class TaskContainer
{
    public required string Name { get; set; }

    public required string Image { get; set; }

    public bool Essential { get; set; } = true;

    public string LastStatus { get; set; } = TaskStatuses.Pending;

    public int? ExitCode { get; set; }

    public string? Reason { get; set; }

    /// <summary>The runtime's id for it (Docker container id, runc container name).</summary>
    public string? RuntimeId { get; set; }

    public List<NetworkBinding> NetworkBindings { get; set; } = [];

    /// <summary>The end of the container's output as its agent last sent it (at most <see cref="MaxLogTail"/> characters).</summary>
    public string? LogTail { get; set; }

    public const int MaxLogTail = 16 * 1024;

    /// <summary>ECS's HEALTHY, UNHEALTHY or UNKNOWN (no health check, or not yet known).</summary>
    public string HealthStatus { get; set; } = "UNKNOWN";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static List<TaskContainer> ReadAll(string json) => JsonSerializer.Deserialize<List<TaskContainer>>(json, Json) ?? [];

    public static string WriteAll(IEnumerable<TaskContainer> containers) => JsonSerializer.Serialize(containers, Json);
}

/// <summary>A host port bound to a container port, as ECS reports it.</summary>
public sealed record NetworkBinding(string BindIP, int ContainerPort, int HostPort, string Protocol);
