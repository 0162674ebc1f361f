using System.Globalization;
using System.Text.RegularExpressions;

namespace Registry.Agent.Config;

/// <summary>Durations as the ECS agent writes them (Go's time.ParseDuration): <c>30s</c>, <c>1m30s</c>, <c>3h</c>, <c>500ms</c>.</summary>
public static partial class GoDuration
{
    public static TimeSpan Parse(string text)
    {
        var matches = Part().Matches(text);
        if (text.Length == 0 || matches.Sum(m => m.Length) != text.Length)
        {
            throw new FormatException($"'{text}' is not a duration such as 30s, 1m30s, 3h or 500ms.");
        }

        var total = TimeSpan.Zero;
        foreach (Match match in matches)
        {
            var value = double.Parse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
            total += match.Groups[2].Value switch
            {
                "ns" => TimeSpan.FromTicks((long)(value / 100)),
                "us" or "µs" => TimeSpan.FromTicks((long)(value * 10)),
                "ms" => TimeSpan.FromMilliseconds(value),
                "s" => TimeSpan.FromSeconds(value),
                "m" => TimeSpan.FromMinutes(value),
                _ => TimeSpan.FromHours(value),
            };
        }

        return total;
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")]
    private static partial Regex Part();
}
