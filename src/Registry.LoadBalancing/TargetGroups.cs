namespace Registry.LoadBalancing;

/// <summary>The configured target groups, checked together: by name, and by the listener port they share.</summary>
public sealed class TargetGroups
{
    private TargetGroups(Dictionary<string, TargetGroup> byName)
    {
        ByName = byName;
        ByPort = byName.Values.GroupBy(g => g.Port).ToDictionary(g => g.Key, g => (IReadOnlyList<TargetGroup>)[.. g]);
    }

    public IReadOnlyDictionary<string, TargetGroup> ByName { get; }

    public IReadOnlyDictionary<int, IReadOnlyList<TargetGroup>> ByPort { get; }

    /// <summary>The listener URLs the balancer binds, one per port.</summary>
    public IEnumerable<string> ListenerUrls => ByPort.Values.Select(groups => groups[0].Listener.GetLeftPart(UriPartial.Authority));

    /// <summary>The groups of <paramref name="options"/>, or an <see cref="ArgumentException"/> naming the first thing wrong with them.</summary>
    public static TargetGroups From(LoadBalancerOptions options)
    {
        var groups = options.TargetGroups.Select(g => TargetGroup.Create(g.Key, g.Value)).ToDictionary(g => g.Name, StringComparer.Ordinal);
        foreach (var port in groups.Values.GroupBy(g => g.Port))
        {
            if (port.Select(g => g.Listener.Host).Distinct(StringComparer.OrdinalIgnoreCase).Count() > 1)
            {
                throw new ArgumentException($"LoadBalancer: target groups {string.Join(", ", port.Select(g => g.Name))} listen on port {port.Key} at different addresses");
            }

            if (port.GroupBy(g => ((g.Options.Host ?? "").ToUpperInvariant(), g.Options.PathPrefix.TrimEnd('/'))).FirstOrDefault(same => same.Count() > 1) is { } clash)
            {
                throw new ArgumentException($"LoadBalancer: target groups {string.Join(" and ", clash.Select(g => g.Name))} have the same listener, host and path: requests could go to either");
            }
        }

        return new TargetGroups(groups);
    }
}
