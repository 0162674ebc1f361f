namespace Registry.Scheduler.Placement;

/// <summary>
/// Places tasks on container instances as ECS does: an instance qualifies when its agent is connected,
/// it satisfies every constraint and has the task's cpu, memory and host ports free; among those the
/// strategies pick in order (each narrowing the choice to its best), and what is still tied is picked
/// at random. Each placement takes its resources before the next task is placed.
/// </summary>
public static class TaskPlacer
{
    public static PlacementResult Place(
        IReadOnlyList<InstanceCapacity> instances,
        TaskDemand demand,
        int count,
        IReadOnlyList<PlacementStrategy> strategies,
        IReadOnlyList<PlacementConstraint> constraints,
        Random random)
    {
        var placed = new List<InstanceCapacity>();
        var failures = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var n = 0; n < count; n++)
        {
            var candidates = new List<InstanceCapacity>();
            foreach (var instance in instances)
            {
                if (Rejection(instance, demand, constraints) is { } reason)
                {
                    failures.TryAdd(instance.Arn, reason);
                }
                else
                {
                    candidates.Add(instance);
                }
            }

            if (candidates.Count == 0)
            {
                break;
            }

            var chosen = Choose(candidates, instances, demand, strategies, random);
            chosen.RemainingCpu -= demand.Cpu;
            chosen.RemainingMemory -= demand.Memory;
            chosen.UsedPorts.UnionWith(demand.HostPorts);
            chosen.TaskGroups.Add(demand.Group);
            placed.Add(chosen);
        }

        return new PlacementResult(placed, placed.Count < count ? failures.Select(f => new PlacementFailure(f.Key, f.Value)).ToList() : []);
    }

    /// <summary>Why <paramref name="instance"/> cannot take the task, in ECS's failure reasons; null when it can.</summary>
    public static string? Rejection(InstanceCapacity instance, TaskDemand demand, IReadOnlyList<PlacementConstraint> constraints)
    {
        if (!instance.Connected)
        {
            return "AGENT";
        }

        foreach (var constraint in constraints)
        {
            if (constraint.Expression is { } expression && !expression.Matches(instance))
            {
                return "MemberOf placement constraint unsatisfied.";
            }

            if (constraint.Type == "distinctInstance" && instance.TaskGroups.Contains(demand.Group))
            {
                return "DistinctInstance placement constraint unsatisfied.";
            }
        }

        return demand.Cpu > instance.RemainingCpu ? "RESOURCE:CPU"
            : demand.Memory > instance.RemainingMemory ? "RESOURCE:MEMORY"
            : demand.HostPorts.Any(instance.UsedPorts.Contains) ? "RESOURCE:PORTS"
            : null;
    }

    private static InstanceCapacity Choose(
        List<InstanceCapacity> candidates,
        IReadOnlyList<InstanceCapacity> all,
        TaskDemand demand,
        IReadOnlyList<PlacementStrategy> strategies,
        Random random)
    {
        foreach (var strategy in strategies)
        {
            if (candidates.Count == 1)
            {
                break;
            }

            Func<InstanceCapacity, int>? score = (strategy.Type, strategy.Field) switch
            {
                ("binpack", "cpu") => i => i.RemainingCpu,
                ("binpack", "memory") => i => i.RemainingMemory,
                ("spread", "instanceId" or "host") => i => i.TaskGroups.Count(g => g == demand.Group),
                ("spread", { } field) when field.StartsWith("attribute:", StringComparison.Ordinal) => SpreadByAttribute(all, field["attribute:".Length..], demand.Group),
                _ => null,
            };
            if (score is null)
            {
                continue;
            }

            var best = candidates.Min(score);
            candidates = candidates.Where(c => score(c) == best).ToList();
        }

        return candidates[random.Next(candidates.Count)];
    }

    /// <summary>How many tasks of the group run on instances sharing each attribute value: fewest first.</summary>
    private static Func<InstanceCapacity, int> SpreadByAttribute(IReadOnlyList<InstanceCapacity> all, string attribute, string group)
    {
        string Value(InstanceCapacity i) => i.Attributes.TryGetValue(attribute, out var v) ? v ?? "" : "";
        var perValue = all.GroupBy(Value).ToDictionary(g => g.Key, g => g.Sum(i => i.TaskGroups.Count(t => t == group)), StringComparer.Ordinal);
        return i => perValue[Value(i)];
    }
}

/// <summary>The instances chosen, one per placed task, and why the others were refused when not all could be placed.</summary>
public sealed record PlacementResult(IReadOnlyList<InstanceCapacity> Placed, IReadOnlyList<PlacementFailure> Failures);

/// <summary>ECS's failure entry: the instance's ARN and the reason it could not take a task.</summary>
public sealed record PlacementFailure(string Arn, string Reason);
