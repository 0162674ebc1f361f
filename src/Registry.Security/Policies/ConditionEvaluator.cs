using System.Globalization;
using System.Net;

namespace Registry.Security.Policies;

/// <summary>
/// Decides one condition clause against a request. A key missing from the request fails a positive
/// operator and satisfies a negated one; <c>IfExists</c> makes a missing key pass; <c>Null</c> tests
/// presence. Several policy values are ORed (NORed for negated operators); with a multi-valued key,
/// ForAnyValue asks whether some request value matches, ForAllValues whether every one does (and holds
/// for a missing key).
/// </summary>
public static class ConditionEvaluator
{
    public static bool IsSatisfied(ConditionClause clause, RequestContext request, Func<string, string?> substitute)
    {
        var present = request.Get(clause.Key) is { Count: > 0 } values ? values : null;
        if (clause.Operator == ConditionOperator.Null)
        {
            return (present is null) == (clause.Values[0] == "true");
        }

        var negated = IsNegated(clause.Operator);
        if (present is null)
        {
            return clause.Qualifier switch
            {
                _ when clause.IfExists => true,
                SetQualifier.ForAllValues => true,
                SetQualifier.ForAnyValue => false,
                _ => negated,
            };
        }

        var policyValues = clause.Values.Select(substitute).Where(v => v is not null).Cast<string>().ToList();

        // For one request value: does it match the clause (for a negated operator: match none of the values)?
        bool Holds(string requestValue)
        {
            var matchesAny = policyValues.Any(p => Compare(clause.Operator, requestValue, p));
            return negated ? !matchesAny : matchesAny;
        }

        return clause.Qualifier switch
        {
            SetQualifier.ForAllValues => present.All(Holds),
            SetQualifier.ForAnyValue => present.Any(Holds),
            _ => negated ? present.All(Holds) : present.Any(Holds),
        };
    }

    public static bool TryParseDate(string value, out DateTimeOffset date)
    {
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch))
        {
            date = DateTimeOffset.FromUnixTimeSeconds(epoch);
            return true;
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out date);
    }

    public static bool TryParseNetwork(string value, out IPNetwork network)
    {
        if (IPNetwork.TryParse(value, out network))
        {
            return true;
        }

        if (IPAddress.TryParse(value, out var address))
        {
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return false;
    }

    private static bool IsNegated(ConditionOperator op) => op is ConditionOperator.StringNotEquals or ConditionOperator.StringNotEqualsIgnoreCase
        or ConditionOperator.StringNotLike or ConditionOperator.NumericNotEquals or ConditionOperator.DateNotEquals or ConditionOperator.NotIpAddress
        or ConditionOperator.ArnNotEquals or ConditionOperator.ArnNotLike;

    /// <summary>The positive comparison behind <paramref name="op"/> (a negated operator's is its positive twin's).</summary>
    private static bool Compare(ConditionOperator op, string request, string policy) => op switch
    {
        ConditionOperator.StringEquals or ConditionOperator.StringNotEquals => string.Equals(request, policy, StringComparison.Ordinal),
        ConditionOperator.StringEqualsIgnoreCase or ConditionOperator.StringNotEqualsIgnoreCase => string.Equals(request, policy, StringComparison.OrdinalIgnoreCase),
        ConditionOperator.StringLike or ConditionOperator.StringNotLike => Wildcard.IsMatch(policy, request),
        ConditionOperator.NumericEquals or ConditionOperator.NumericNotEquals => CompareNumbers(request, policy) is 0,
        ConditionOperator.NumericLessThan => CompareNumbers(request, policy) is < 0,
        ConditionOperator.NumericLessThanEquals => CompareNumbers(request, policy) is <= 0,
        ConditionOperator.NumericGreaterThan => CompareNumbers(request, policy) is > 0,
        ConditionOperator.NumericGreaterThanEquals => CompareNumbers(request, policy) is >= 0,
        ConditionOperator.DateEquals or ConditionOperator.DateNotEquals => CompareDates(request, policy) is 0,
        ConditionOperator.DateLessThan => CompareDates(request, policy) is < 0,
        ConditionOperator.DateLessThanEquals => CompareDates(request, policy) is <= 0,
        ConditionOperator.DateGreaterThan => CompareDates(request, policy) is > 0,
        ConditionOperator.DateGreaterThanEquals => CompareDates(request, policy) is >= 0,
        ConditionOperator.Bool => string.Equals(request, policy, StringComparison.OrdinalIgnoreCase),
        ConditionOperator.BinaryEquals => string.Equals(request, policy, StringComparison.Ordinal),
        ConditionOperator.IpAddress or ConditionOperator.NotIpAddress =>
            IPAddress.TryParse(request, out var address) && TryParseNetwork(policy, out var network) && network.Contains(address),
        ConditionOperator.ArnEquals or ConditionOperator.ArnNotEquals or ConditionOperator.ArnLike or ConditionOperator.ArnNotLike => ArnMatches(policy, request),
        _ => false,
    };

    private static int? CompareNumbers(string request, string policy) =>
        decimal.TryParse(request, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && decimal.TryParse(policy, NumberStyles.Float, CultureInfo.InvariantCulture, out var p)
            ? r.CompareTo(p)
            : null;

    private static int? CompareDates(string request, string policy) =>
        TryParseDate(request, out var r) && TryParseDate(policy, out var p) ? r.CompareTo(p) : null;

    /// <summary>ARNs match part by part (partition, service, region, account, resource), each with wildcards.</summary>
    public static bool ArnMatches(string pattern, string arn)
    {
        if (pattern == "*")
        {
            return true;
        }

        var patternParts = pattern.Split(':', 6);
        var arnParts = arn.Split(':', 6);
        if (patternParts.Length != 6 || arnParts.Length != 6)
        {
            return pattern == "*" || Wildcard.IsMatch(pattern, arn);
        }

        for (var i = 0; i < 6; i++)
        {
            if (!Wildcard.IsMatch(patternParts[i], arnParts[i]))
            {
                return false;
            }
        }

        return true;
    }
}
