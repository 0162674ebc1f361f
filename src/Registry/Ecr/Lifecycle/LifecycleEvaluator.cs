using Registry.Security.Policies;

namespace Registry.Ecr.Lifecycle;

/// <summary>An image as lifecycle rules see it.</summary>
internal sealed record LifecycleImage(string Digest, IReadOnlyList<string> Tags, DateTime PushedAt);

/// <summary>An image a policy expires, and the rule that does it.</summary>
internal sealed record Expiry(LifecycleImage Image, int RulePriority);

/// <summary>
/// Which images a lifecycle policy expires, as ECR decides: rules in priority order; each image is
/// claimed by the first rule whose selection matches it (expired or kept, a later rule never sees it);
/// imageCountMoreThan keeps the newest N of its images, sinceImagePushed expires those older than N days.
/// Previews and runs both use this, so a preview lists exactly what a run would expire.
/// </summary>
internal static class LifecycleEvaluator
{
    public static List<Expiry> Evaluate(LifecyclePolicy policy, IReadOnlyList<LifecycleImage> images, DateTime now)
    {
        var unclaimed = images.ToList();
        var expired = new List<Expiry>();
        foreach (var rule in policy.Rules)
        {
            var selected = unclaimed.Where(i => Selects(rule, i)).OrderByDescending(i => i.PushedAt).ThenBy(i => i.Digest, StringComparer.Ordinal).ToList();
            unclaimed.RemoveAll(selected.Contains);
            var expiring = rule.CountType == "imageCountMoreThan"
                ? selected.Skip(rule.CountNumber)
                : selected.Where(i => i.PushedAt < now.AddDays(-rule.CountNumber));
            expired.AddRange(expiring.Select(i => new Expiry(i, rule.Priority)));
        }

        return expired;
    }

    private static bool Selects(LifecycleRule rule, LifecycleImage image) => rule.TagStatus switch
    {
        "untagged" => image.Tags.Count == 0,
        "any" => true,

        // As ECR: with several prefixes or patterns, an image is selected only when each one matches one of its tags.
        _ => image.Tags.Count > 0
             && rule.TagPrefixes.All(p => image.Tags.Any(t => t.StartsWith(p, StringComparison.Ordinal)))
             && rule.TagPatterns.All(p => image.Tags.Any(t => Wildcard.IsMatch(p, t))),
    };
}
