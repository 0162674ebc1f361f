using System.Text.RegularExpressions;

namespace Registry.Scheduler.Placement;

/// <summary>
/// ECS's cluster query language as memberOf constraints use it, for the subjects an agent has:
/// <c>attribute:&lt;name&gt;</c>, <c>ec2InstanceId</c> and <c>agentConnected</c>; operators
/// <c>==</c>/<c>equals</c>, <c>!=</c>/<c>not_equals</c>, <c>exists</c>, <c>!exists</c>/<c>not_exists</c>,
/// <c>in [a, b]</c>, <c>not_in [a, b]</c>, <c>=~</c>/<c>matches</c> and <c>!~</c>/<c>not_matches</c>
/// (with <c>*</c> wildcards); terms joined by <c>and</c>/<c>&amp;&amp;</c> (binding tighter) and
/// <c>or</c>/<c>||</c>, grouped with parentheses.
/// </summary>
public sealed partial class MemberOfExpression
{
    private readonly Func<InstanceCapacity, bool> _test;

    private MemberOfExpression(Func<InstanceCapacity, bool> test) => _test = test;

    public bool Matches(InstanceCapacity instance) => _test(instance);

    public static MemberOfExpression Parse(string text)
    {
        var tokens = Tokens().Matches(text).Select(m => m.Value).ToList();
        var position = 0;
        var test = ParseOr(tokens, ref position);
        if (position != tokens.Count)
        {
            throw new PlacementException($"Unexpected '{tokens[position]}' in the memberOf expression '{text}'.");
        }

        return new MemberOfExpression(test);
    }

    private static Func<InstanceCapacity, bool> ParseOr(List<string> tokens, ref int position)
    {
        var left = ParseAnd(tokens, ref position);
        while (position < tokens.Count && tokens[position] is "or" or "||")
        {
            position++;
            var (a, b) = (left, ParseAnd(tokens, ref position));
            left = i => a(i) || b(i);
        }

        return left;
    }

    private static Func<InstanceCapacity, bool> ParseAnd(List<string> tokens, ref int position)
    {
        var left = ParseTerm(tokens, ref position);
        while (position < tokens.Count && tokens[position] is "and" or "&&")
        {
            position++;
            var (a, b) = (left, ParseTerm(tokens, ref position));
            left = i => a(i) && b(i);
        }

        return left;
    }

    private static Func<InstanceCapacity, bool> ParseTerm(List<string> tokens, ref int position)
    {
        var subject = Next(tokens, ref position);
        if (subject == "(")
        {
            var inner = ParseOr(tokens, ref position);
            Expect(tokens, ref position, ")");
            return inner;
        }

        Func<InstanceCapacity, string?> value = subject switch
        {
            "ec2InstanceId" => i => i.Ec2InstanceId,
            "agentConnected" => i => i.Connected ? "true" : "false",
            _ when subject.StartsWith("attribute:", StringComparison.Ordinal) && subject.Length > "attribute:".Length =>
                i => i.Attributes.TryGetValue(subject["attribute:".Length..], out var v) ? v ?? "" : null,
            _ => throw new PlacementException($"Unknown subject '{subject}' in a memberOf expression: attribute:<name>, ec2InstanceId or agentConnected."),
        };

        var op = Next(tokens, ref position);
        switch (op)
        {
            case "exists":
                return i => value(i) is not null;
            case "!exists" or "not_exists":
                return i => value(i) is null;
            case "==" or "equals":
                var equal = Next(tokens, ref position);
                return i => value(i) == equal;
            case "!=" or "not_equals":
                var different = Next(tokens, ref position);
                return i => value(i) != different;
            case "in" or "not_in":
                var set = List(tokens, ref position);
                return op == "in" ? i => value(i) is { } v && set.Contains(v) : i => value(i) is not { } v || !set.Contains(v);
            case "=~" or "matches" or "!~" or "not_matches":
                var pattern = new Regex("^" + Regex.Escape(Next(tokens, ref position)).Replace("\\*", ".*", StringComparison.Ordinal) + "$", RegexOptions.CultureInvariant);
                return op is "=~" or "matches" ? i => value(i) is { } v && pattern.IsMatch(v) : i => value(i) is not { } v || !pattern.IsMatch(v);
            default:
                throw new PlacementException($"Unknown operator '{op}' in a memberOf expression.");
        }
    }

    private static HashSet<string> List(List<string> tokens, ref int position)
    {
        Expect(tokens, ref position, "[");
        var values = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            values.Add(Next(tokens, ref position));
            var separator = Next(tokens, ref position);
            if (separator == "]")
            {
                return values;
            }

            if (separator != ",")
            {
                throw new PlacementException($"Expected ',' or ']' in a memberOf list, found '{separator}'.");
            }
        }
    }

    private static string Next(List<string> tokens, ref int position) =>
        position < tokens.Count ? tokens[position++] : throw new PlacementException("The memberOf expression ends too soon.");

    private static void Expect(List<string> tokens, ref int position, string expected)
    {
        if (Next(tokens, ref position) != expected)
        {
            throw new PlacementException($"Expected '{expected}' in the memberOf expression.");
        }
    }

    [GeneratedRegex(@"\(|\)|\[|\]|,|[^\s()\[\],]+")]
    private static partial Regex Tokens();
}
