using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Registry.Scheduler.Tasks;

/// <summary>RunTask's and StartTask's <c>overrides</c>: per-container command, environment and resources, task cpu and memory.</summary>
public sealed class TaskOverrides
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public List<ContainerOverride> ContainerOverrides { get; set; } = [];

    public string? Cpu { get; set; }

    public string? Memory { get; set; }

    public string? TaskRoleArn { get; set; }

    public string? ExecutionRoleArn { get; set; }

    public ContainerOverride? For(string container) => ContainerOverrides.FirstOrDefault(c => c.Name == container);

    /// <summary>Reads overrides as the request gives them; unknown members are an error, as ECS has them.</summary>
    public static TaskOverrides Read(JsonElement? element)
    {
        if (element is not { ValueKind: JsonValueKind.Object } value)
        {
            return new TaskOverrides();
        }

        TaskOverrides overrides;
        try
        {
            overrides = value.Deserialize<TaskOverrides>(Json) ?? new TaskOverrides();
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"Invalid overrides: {e.Message}", nameof(element), e);
        }

        foreach (var (name, units) in new[] { ("cpu", overrides.Cpu), ("memory", overrides.Memory) })
        {
            if (units is not null && (!int.TryParse(units, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0))
            {
                throw new ArgumentException($"Invalid overrides: {name} must be a positive whole number as a string, not '{units}'.", nameof(element));
            }
        }

        if (overrides.ContainerOverrides.Any(c => c.Cpu < 0 || c.Memory <= 0 || c.MemoryReservation <= 0))
        {
            throw new ArgumentException("Invalid overrides: container cpu must not be negative, memory and memoryReservation must be positive.", nameof(element));
        }

        return overrides;
    }

    public static TaskOverrides Parse(string json) => JsonSerializer.Deserialize<TaskOverrides>(json, Json) ?? new TaskOverrides();

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}

/// <summary>One container's override.</summary>
public sealed class ContainerOverride
{
    public required string Name { get; set; }

    public List<string>? Command { get; set; }

    public List<KeyValue>? Environment { get; set; }

    public int? Cpu { get; set; }

    public int? Memory { get; set; }

    public int? MemoryReservation { get; set; }
}

/// <summary>ECS's name/value pair (environment variables).</summary>
public sealed record KeyValue(string Name, string? Value);
