namespace Registry.Scheduler.Placement;

/// <summary>A container instance as placement sees it: what it has left, what it runs, what it is.</summary>
public sealed class InstanceCapacity
{
    public required long Id { get; init; }

    public required string Arn { get; init; }

    public required string Ec2InstanceId { get; init; }

    public required bool Connected { get; init; }

    public required int RemainingCpu { get; set; }

    public required int RemainingMemory { get; set; }

    /// <summary>Host ports taken by running tasks or reserved by the agent.</summary>
    public required HashSet<int> UsedPorts { get; init; }

    public required IReadOnlyDictionary<string, string?> Attributes { get; init; }

    /// <summary>The groups of the tasks it holds (<c>family:x</c>, <c>service:y</c>), one entry per task.</summary>
    public required List<string> TaskGroups { get; init; }
}

/// <summary>What one task needs from an instance.</summary>
public sealed record TaskDemand(int Cpu, int Memory, IReadOnlyList<int> HostPorts, string Group);
