using System.Text.Json;
using Registry.AwsApi;

namespace Registry.Ecr.Lifecycle;

/// <summary>One rule of an ECR lifecycle policy.</summary>
internal sealed record LifecycleRule(
    int Priority,
    string TagStatus,
    IReadOnlyList<string> TagPrefixes,
    IReadOnlyList<string> TagPatterns,
    string CountType,
    int CountNumber);

/// <summary>
/// An ECR lifecycle policy (<c>{"rules": [{"rulePriority", "selection": {…}, "action": {"type": "expire"}}]}</c>),
/// validated with ECR's rules; a violation is an InvalidParameterException naming the rule.
/// </summary>
internal sealed record LifecyclePolicy(IReadOnlyList<LifecycleRule> Rules)
{
    public static LifecyclePolicy Parse(string text)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw Invalid($"not valid JSON ({e.Message})");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("rules", out var rulesElement)
                || rulesElement.ValueKind != JsonValueKind.Array || rulesElement.GetArrayLength() == 0)
            {
                throw Invalid("'rules' must be a non-empty list");
            }

            var rules = rulesElement.EnumerateArray().Select((r, i) => ParseRule(r, i)).OrderBy(r => r.Priority).ToList();
            if (rules.GroupBy(r => r.Priority).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
            {
                throw Invalid($"rulePriority {duplicate.Key} is used by more than one rule");
            }

            if (rules.FindIndex(r => r.TagStatus == "any") is var anyIndex and >= 0 && anyIndex != rules.Count - 1)
            {
                throw Invalid($"the rule with tagStatus 'any' (rulePriority {rules[anyIndex].Priority}) must have the highest rulePriority");
            }

            return new LifecyclePolicy(rules);
        }
    }

    private static LifecycleRule ParseRule(JsonElement rule, int index)
    {
        var at = $"rules[{index}]";
        if (rule.ValueKind != JsonValueKind.Object)
        {
            throw Invalid($"{at} must be an object");
        }

        if (!rule.TryGetProperty("rulePriority", out var priorityElement) || !priorityElement.TryGetInt32(out var priority) || priority < 1)
        {
            throw Invalid($"{at}.rulePriority must be a positive integer");
        }

        at = $"rule {priority}";
        if (!rule.TryGetProperty("action", out var action) || action.ValueKind != JsonValueKind.Object
            || !action.TryGetProperty("type", out var type) || type.GetString() != "expire")
        {
            throw Invalid($"{at}: action.type must be 'expire'");
        }

        if (!rule.TryGetProperty("selection", out var selection) || selection.ValueKind != JsonValueKind.Object)
        {
            throw Invalid($"{at}: selection is required");
        }

        var tagStatus = Text(selection, "tagStatus", at);
        if (tagStatus is not ("tagged" or "untagged" or "any"))
        {
            throw Invalid($"{at}: selection.tagStatus must be tagged, untagged or any");
        }

        var prefixes = List(selection, "tagPrefixList", at);
        var patterns = List(selection, "tagPatternList", at);
        if (tagStatus == "tagged" && (prefixes.Count == 0) == (patterns.Count == 0))
        {
            throw Invalid($"{at}: a tagged selection needs exactly one of tagPrefixList or tagPatternList");
        }

        if (tagStatus != "tagged" && (prefixes.Count > 0 || patterns.Count > 0))
        {
            throw Invalid($"{at}: tagPrefixList and tagPatternList are only for tagStatus 'tagged'");
        }

        if (patterns.FirstOrDefault(p => p.Count(c => c == '*') > 4) is { } wild)
        {
            throw Invalid($"{at}: tag pattern '{wild}' has more than 4 wildcards");
        }

        var countType = Text(selection, "countType", at);
        var hasUnit = selection.TryGetProperty("countUnit", out var unit);
        switch (countType)
        {
            case "imageCountMoreThan" when hasUnit:
                throw Invalid($"{at}: countUnit is not allowed with imageCountMoreThan");
            case "sinceImagePushed" when !hasUnit || unit.GetString() != "days":
                throw Invalid($"{at}: sinceImagePushed needs countUnit 'days'");
            case "imageCountMoreThan" or "sinceImagePushed":
                break;
            default:
                throw Invalid($"{at}: countType must be imageCountMoreThan or sinceImagePushed");
        }

        if (!selection.TryGetProperty("countNumber", out var numberElement) || !numberElement.TryGetInt32(out var countNumber) || countNumber < 1)
        {
            throw Invalid($"{at}: countNumber must be a positive integer");
        }

        return new LifecycleRule(priority, tagStatus, prefixes, patterns, countType, countNumber);
    }

    private static string Text(JsonElement parent, string name, string at) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Invalid($"{at}: selection.{name} is required");

    private static List<string> List(JsonElement parent, string name, string at)
    {
        if (!parent.TryGetProperty(name, out var value))
        {
            return [];
        }

        return value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(v => v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0)
            ? value.EnumerateArray().Select(v => v.GetString()!).ToList()
            : throw Invalid($"{at}: selection.{name} must be a list of non-empty strings");
    }

    private static AwsApiException Invalid(string problem) =>
        new("InvalidParameterException", $"Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure': {problem}");
}
