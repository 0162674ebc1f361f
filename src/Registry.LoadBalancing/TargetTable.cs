namespace Registry.LoadBalancing;

/// <summary>
/// The targets of every group as the <see cref="TargetWatcher"/> last found them, and the choice of a
/// target for a request. Replaced whole on each refresh, so readers never lock.
/// </summary>
public sealed class TargetTable
{
    private IReadOnlyDictionary<string, IReadOnlyList<Target>> _groups = new Dictionary<string, IReadOnlyList<Target>>();
    private int _next;

    public IReadOnlyList<Target> Targets(string group) => Volatile.Read(ref _groups).GetValueOrDefault(group) ?? [];

    public void Replace(IReadOnlyDictionary<string, IReadOnlyList<Target>> groups) => Volatile.Write(ref _groups, groups);

    /// <summary>
    /// The least busy healthy target of the group not in <paramref name="tried"/> (ties go round the
    /// group); when no healthy one is left, the unhealthy ones are tried, as ALB fails open. Targets still
    /// in their first checks get nothing. Null when there is none.
    /// </summary>
    public Target? Pick(string group, IReadOnlyCollection<Target> tried)
    {
        var targets = Targets(group).Where(t => !tried.Contains(t)).ToList();
        var candidates = targets.Where(t => t.State == TargetHealthState.Healthy).ToList();
        if (candidates.Count == 0)
        {
            candidates = [.. targets.Where(t => t.State == TargetHealthState.Unhealthy)];
        }

        if (candidates.Count == 0)
        {
            return null;
        }

        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)candidates.Count);
        var best = candidates[start];
        for (var i = 1; i < candidates.Count; i++)
        {
            var candidate = candidates[(start + i) % candidates.Count];
            if (candidate.Outstanding < best.Outstanding)
            {
                best = candidate;
            }
        }

        return best;
    }
}
