using System.Globalization;
using System.Text.Json.Nodes;
using Registry.Scheduler.Placement;

namespace Registry.Scheduler.Tasks;

/// <summary>
/// What running one copy of a task definition takes: its containers (with RunTask's overrides
/// applied), the cpu and memory it holds on an instance, and the host ports it binds.
/// </summary>
public sealed record TaskPlan(IReadOnlyList<TaskContainer> Containers, int Cpu, int Memory, IReadOnlyList<int> HostPorts)
{
    /// <summary>The plan for <paramref name="taskDefinition"/> (as the parser normalized it).</summary>
    public static TaskPlan From(JsonObject taskDefinition, TaskOverrides overrides)
    {
        var networkMode = (string?)taskDefinition["networkMode"] ?? "bridge";
        var containers = new List<TaskContainer>();
        var cpu = 0;
        var memory = 0;
        var ports = new List<int>();
        foreach (var definition in taskDefinition["containerDefinitions"]!.AsArray().Select(c => c!.AsObject()))
        {
            var name = (string)definition["name"]!;
            var containerOverride = overrides.For(name);
            containers.Add(new TaskContainer { Name = name, Image = (string)definition["image"]!, Essential = (bool?)definition["essential"] ?? true });
            cpu += containerOverride?.Cpu ?? (int?)definition["cpu"] ?? 0;
            memory += containerOverride?.Memory ?? containerOverride?.MemoryReservation ?? (int?)definition["memory"] ?? (int?)definition["memoryReservation"] ?? 0;
            // awsvpc tasks have an address of their own (here: a bridge namespace and a dynamic host port), so their ports hold nothing on the host.
            if (networkMode is not ("none" or "awsvpc") && definition["portMappings"] is JsonArray mappings)
            {
                ports.AddRange(mappings.Select(m => (int?)m!["hostPort"] ?? 0).Where(p => p > 0));
            }
        }

        if ((overrides.Cpu ?? (string?)taskDefinition["cpu"]) is { } taskCpu)
        {
            cpu = int.Parse(taskCpu, NumberStyles.None, CultureInfo.InvariantCulture);
        }

        if ((overrides.Memory ?? (string?)taskDefinition["memory"]) is { } taskMemory)
        {
            memory = int.Parse(taskMemory, NumberStyles.None, CultureInfo.InvariantCulture);
        }

        return new TaskPlan(containers, cpu, memory, ports);
    }

    public TaskDemand Demand(string group) => new(Cpu, Memory, HostPorts, group);
}
