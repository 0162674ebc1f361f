using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Registry.Security.Policies;

/// <summary>
/// Reads a policy document in AWS's grammar and rejects what IAM would reject, with a message that
/// names the offending element. Element names are case-sensitive, as in IAM.
/// </summary>
public static partial class PolicyParser
{
    private static readonly string[] DocumentElements = ["Version", "Id", "Statement"];
    private static readonly string[] StatementElements = ["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];
    private static readonly string[] PrincipalTypes = ["AWS", "Service", "Federated", "CanonicalUser"];

    public static PolicyDocument Parse(string json, PolicyKind kind)
    {
        JsonDocument parsed;
        try
        {
            parsed = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new PolicyException("Policy", $"not valid JSON ({e.Message})");
        }

        using (parsed)
        {
            var root = parsed.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new PolicyException("Policy", "must be a JSON object");
            }

            RejectUnknown(root, DocumentElements, "Policy");
            var version = OptionalString(root, "Version", "Version");
            if (version is not null and not PolicyDocument.CurrentVersion and not "2008-10-17")
            {
                throw new PolicyException("Version", $"must be \"{PolicyDocument.CurrentVersion}\" or \"2008-10-17\", not \"{version}\"");
            }

            var id = OptionalString(root, "Id", "Id");
            if (!root.TryGetProperty("Statement", out var statementElement))
            {
                throw new PolicyException("Statement", "is required");
            }

            var statements = statementElement.ValueKind switch
            {
                JsonValueKind.Object => [ParseStatement(statementElement, "Statement", kind)],
                JsonValueKind.Array when statementElement.GetArrayLength() > 0 =>
                    statementElement.EnumerateArray().Select((s, i) => ParseStatement(s, $"Statement[{i}]", kind)).ToList(),
                _ => throw new PolicyException("Statement", "must be a statement object or a non-empty array of them"),
            };
            var duplicateSid = statements.Where(s => s.Sid is not null).GroupBy(s => s.Sid).FirstOrDefault(g => g.Count() > 1);
            if (duplicateSid is not null)
            {
                throw new PolicyException("Statement", $"Sid \"{duplicateSid.Key}\" is used by more than one statement");
            }

            return new PolicyDocument(version, id, kind, statements);
        }
    }

    private static PolicyStatement ParseStatement(JsonElement statement, string path, PolicyKind kind)
    {
        if (statement.ValueKind != JsonValueKind.Object)
        {
            throw new PolicyException(path, "must be an object");
        }

        RejectUnknown(statement, StatementElements, path);
        var sid = OptionalString(statement, "Sid", $"{path}.Sid");
        if (sid is not null && !SidPattern().IsMatch(sid))
        {
            throw new PolicyException($"{path}.Sid", "may contain only letters and digits");
        }

        var effectText = OptionalString(statement, "Effect", $"{path}.Effect") ?? throw new PolicyException($"{path}.Effect", "is required");
        var effect = effectText switch
        {
            "Allow" => Effect.Allow,
            "Deny" => Effect.Deny,
            _ => throw new PolicyException($"{path}.Effect", $"must be \"Allow\" or \"Deny\", not \"{effectText}\""),
        };

        var principal = ParsePrincipal(statement, "Principal", path);
        var notPrincipal = ParsePrincipal(statement, "NotPrincipal", path);
        if (principal is not null && notPrincipal is not null)
        {
            throw new PolicyException(path, "has both Principal and NotPrincipal; use one");
        }

        if (kind == PolicyKind.Identity && (principal ?? notPrincipal) is not null)
        {
            throw new PolicyException($"{path}.{(principal is not null ? "Principal" : "NotPrincipal")}", "is not allowed in an identity policy (it applies to whoever the policy is attached to)");
        }

        if (kind == PolicyKind.Resource && principal is null && notPrincipal is null)
        {
            throw new PolicyException($"{path}.Principal", "is required in a repository or registry policy");
        }

        var action = ParsePatterns(statement, "Action", path, ValidateAction);
        var notAction = ParsePatterns(statement, "NotAction", path, ValidateAction);
        if ((action is null) == (notAction is null))
        {
            throw new PolicyException(path, action is null ? "needs Action or NotAction" : "has both Action and NotAction; use one");
        }

        var resource = ParsePatterns(statement, "Resource", path, ValidateResource);
        var notResource = ParsePatterns(statement, "NotResource", path, ValidateResource);
        if (resource is not null && notResource is not null)
        {
            throw new PolicyException(path, "has both Resource and NotResource; use one");
        }

        if (kind == PolicyKind.Identity && resource is null && notResource is null)
        {
            throw new PolicyException($"{path}.Resource", "is required in an identity policy");
        }

        var conditions = statement.TryGetProperty("Condition", out var condition) ? ParseConditions(condition, $"{path}.Condition") : [];
        return new PolicyStatement(sid, effect, principal, notPrincipal, action, notAction, resource, notResource, conditions);
    }

    private static PrincipalSet? ParsePrincipal(JsonElement statement, string name, string path)
    {
        if (!statement.TryGetProperty(name, out var element))
        {
            return null;
        }

        path = $"{path}.{name}";
        if (element.ValueKind == JsonValueKind.String)
        {
            return element.GetString() == "*"
                ? new PrincipalSet(true, new Dictionary<string, IReadOnlyList<string>>())
                : throw new PolicyException(path, "must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::123456789012:root\"}");
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new PolicyException(path, "must be \"*\" or an object of principal types");
        }

        var byType = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var type in element.EnumerateObject())
        {
            if (!PrincipalTypes.Contains(type.Name, StringComparer.Ordinal))
            {
                throw new PolicyException($"{path}.{type.Name}", $"is not a principal type; use one of {string.Join(", ", PrincipalTypes)}");
            }

            var values = StringList(type.Value, $"{path}.{type.Name}");
            if (type.Name == "AWS")
            {
                foreach (var value in values)
                {
                    if (value != "*" && !AccountIdPattern().IsMatch(value) && !IamArnPattern().IsMatch(value))
                    {
                        throw new PolicyException($"{path}.AWS", $"\"{value}\" is not \"*\", an account id or an IAM ARN (arn:aws:iam::<account>:root|user/<name>|role/<name>)");
                    }
                }
            }

            byType[type.Name] = values;
        }

        return byType.Count == 0 ? throw new PolicyException(path, "names no principal") : new PrincipalSet(false, byType);
    }

    private static PatternSet? ParsePatterns(JsonElement statement, string name, string path, Action<string, string> validate)
    {
        if (!statement.TryGetProperty(name, out var element))
        {
            return null;
        }

        path = $"{path}.{name}";
        var values = StringList(element, path);
        foreach (var value in values)
        {
            validate(value, path);
        }

        return new PatternSet(values);
    }

    private static void ValidateAction(string action, string path)
    {
        if (action != "*" && !ActionPattern().IsMatch(action))
        {
            throw new PolicyException(path, $"\"{action}\" is not an action; write <service>:<action> such as ecr:BatchGetImage (wildcards * and ? allowed)");
        }
    }

    private static void ValidateResource(string resource, string path)
    {
        if (resource != "*" && !(resource.StartsWith("arn:", StringComparison.Ordinal) && resource.Count(c => c == ':') >= 5))
        {
            throw new PolicyException(path, $"\"{resource}\" is not \"*\" or an ARN (arn:aws:ecr:<region>:<account>:repository/<name>)");
        }
    }

    private static List<ConditionClause> ParseConditions(JsonElement condition, string path)
    {
        if (condition.ValueKind != JsonValueKind.Object)
        {
            throw new PolicyException(path, "must be an object of condition operators");
        }

        var clauses = new List<ConditionClause>();
        foreach (var block in condition.EnumerateObject())
        {
            var blockPath = $"{path}.{block.Name}";
            var (op, qualifier, ifExists) = ParseOperator(block.Name, blockPath);
            if (block.Value.ValueKind != JsonValueKind.Object || !block.Value.EnumerateObject().Any())
            {
                throw new PolicyException(blockPath, "must be an object of condition keys and values");
            }

            foreach (var key in block.Value.EnumerateObject())
            {
                var keyPath = $"{blockPath}.{key.Name}";
                var values = ConditionValues(key.Value, keyPath);
                foreach (var value in values)
                {
                    ValidateConditionValue(op, value, keyPath);
                }

                clauses.Add(new ConditionClause(op, qualifier, ifExists, key.Name, values));
            }
        }

        return clauses;
    }

    private static (ConditionOperator Operator, SetQualifier Qualifier, bool IfExists) ParseOperator(string name, string path)
    {
        var qualifier = SetQualifier.None;
        var text = name;
        if (text.StartsWith("ForAnyValue:", StringComparison.Ordinal))
        {
            qualifier = SetQualifier.ForAnyValue;
            text = text["ForAnyValue:".Length..];
        }
        else if (text.StartsWith("ForAllValues:", StringComparison.Ordinal))
        {
            qualifier = SetQualifier.ForAllValues;
            text = text["ForAllValues:".Length..];
        }

        var ifExists = text.EndsWith("IfExists", StringComparison.Ordinal);
        if (ifExists)
        {
            text = text[..^"IfExists".Length];
        }

        if (!Enum.TryParse<ConditionOperator>(text, ignoreCase: false, out var op) || !Enum.IsDefined(op) || text.All(char.IsAsciiDigit))
        {
            throw new PolicyException(path, $"\"{name}\" is not a condition operator");
        }

        if (op == ConditionOperator.Null && (ifExists || qualifier != SetQualifier.None))
        {
            throw new PolicyException(path, "Null takes neither IfExists nor a set qualifier");
        }

        return (op, qualifier, ifExists);
    }

    private static void ValidateConditionValue(ConditionOperator op, string value, string path)
    {
        var valid = op switch
        {
            ConditionOperator.Bool or ConditionOperator.Null => value is "true" or "false",
            ConditionOperator.NumericEquals or ConditionOperator.NumericNotEquals or ConditionOperator.NumericLessThan or ConditionOperator.NumericLessThanEquals
                or ConditionOperator.NumericGreaterThan or ConditionOperator.NumericGreaterThanEquals =>
                decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _),
            ConditionOperator.DateEquals or ConditionOperator.DateNotEquals or ConditionOperator.DateLessThan or ConditionOperator.DateLessThanEquals
                or ConditionOperator.DateGreaterThan or ConditionOperator.DateGreaterThanEquals => ConditionEvaluator.TryParseDate(value, out _) || value.Contains("${", StringComparison.Ordinal),
            ConditionOperator.IpAddress or ConditionOperator.NotIpAddress => ConditionEvaluator.TryParseNetwork(value, out _),
            ConditionOperator.BinaryEquals => IsBase64(value),
            _ => true,
        };
        if (!valid)
        {
            throw new PolicyException(path, $"\"{value}\" is not a valid value for {op}");
        }
    }

    private static bool IsBase64(string value)
    {
        var buffer = new byte[value.Length];
        return Convert.TryFromBase64String(value, buffer, out _);
    }

    /// <summary>A condition's values: a string, number or boolean, or a non-empty array of them, as strings.</summary>
    private static List<string> ConditionValues(JsonElement element, string path)
    {
        static string? Scalar(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.String => e.GetString(),
            JsonValueKind.Number => e.GetRawText(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => null,
        };

        if (Scalar(element) is { } single)
        {
            return [single];
        }

        if (element.ValueKind == JsonValueKind.Array && element.GetArrayLength() > 0)
        {
            return element.EnumerateArray().Select(e => Scalar(e) ?? throw new PolicyException(path, "values must be strings, numbers or booleans")).ToList();
        }

        throw new PolicyException(path, "must be a value or a non-empty array of values");
    }

    private static List<string> StringList(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.String)
        {
            return [element.GetString()!];
        }

        if (element.ValueKind == JsonValueKind.Array && element.GetArrayLength() > 0 && element.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
        {
            return element.EnumerateArray().Select(e => e.GetString()!).ToList();
        }

        throw new PolicyException(path, "must be a string or a non-empty array of strings");
    }

    private static string? OptionalString(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out var element))
        {
            return null;
        }

        return element.ValueKind == JsonValueKind.String ? element.GetString() : throw new PolicyException(path, "must be a string");
    }

    private static void RejectUnknown(JsonElement element, string[] known, string path)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                throw new PolicyException(path == "Policy" ? property.Name : $"{path}.{property.Name}", $"is not a policy element; expected one of {string.Join(", ", known)}");
            }
        }
    }

    [GeneratedRegex("^[A-Za-z0-9]*$")]
    private static partial Regex SidPattern();

    [GeneratedRegex("^[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+$")]
    private static partial Regex ActionPattern();

    [GeneratedRegex("^[0-9]{12}$")]
    private static partial Regex AccountIdPattern();

    [GeneratedRegex(@"^arn:aws[a-z-]*:(iam|sts)::([0-9]{12}|\*):[!-~]+$")]
    private static partial Regex IamArnPattern();
}
