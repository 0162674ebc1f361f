using System.Globalization;
using System.Text.RegularExpressions;

namespace Registry.LoadBalancing;

/// <summary>A target group's settings, checked and parsed: its listener, its rule and its health check.</summary>
public sealed partial class TargetGroup
{
    private readonly List<(int From, int To)> _successCodes;

    private TargetGroup(string name, TargetGroupOptions options, Uri listener, List<(int From, int To)> successCodes)
    {
        Name = name;
        Options = options;
        Listener = listener;
        _successCodes = successCodes;
    }

    public string Name { get; }

    public TargetGroupOptions Options { get; }

    public Uri Listener { get; }

    public int Port => Listener.Port;

    /// <summary>The settings of group <paramref name="name"/>, or an <see cref="ArgumentException"/> saying what is wrong with them.</summary>
    public static TargetGroup Create(string name, TargetGroupOptions options)
    {
        var where = $"LoadBalancer:TargetGroups:{name}";
        Require(NamePattern().IsMatch(name), $"{where}: a target group name has 1 to 32 letters, digits and hyphens, and does not start or end with a hyphen");
        Require(Uri.TryCreate(options.Listener, UriKind.Absolute, out var listener) && listener.Scheme == Uri.UriSchemeHttp && listener.AbsolutePath == "/" && !listener.IsDefaultPort,
            $"{where}:Listener must be http://address:port, not '{options.Listener}'");
        Require(options.PathPrefix.StartsWith('/'), $"{where}:PathPrefix must start with /");
        Require(options.HealthCheckPath.StartsWith('/'), $"{where}:HealthCheckPath must start with /");
        Require(options.Host is null || HostPattern().IsMatch(options.Host), $"{where}:Host must be a host name, or *. and a domain");
        Require(options.HealthCheckInterval >= TimeSpan.FromSeconds(1) && options.HealthCheckInterval <= TimeSpan.FromMinutes(5), $"{where}:HealthCheckInterval must be from 1 second to 5 minutes");
        Require(options.HealthCheckTimeout > TimeSpan.Zero && options.HealthCheckTimeout <= options.HealthCheckInterval, $"{where}:HealthCheckTimeout must be positive and no longer than HealthCheckInterval");
        Require(options.HealthyThreshold is >= 1 and <= 10 && options.UnhealthyThreshold is >= 1 and <= 10, $"{where}: HealthyThreshold and UnhealthyThreshold must be from 1 to 10");
        Require(options.DeregistrationDelay >= TimeSpan.Zero && options.DeregistrationDelay <= TimeSpan.FromHours(1), $"{where}:DeregistrationDelay must be from 0 to 1 hour");
        return new TargetGroup(name, options, listener!, ParseSuccessCodes(options.SuccessCodes, where));
    }

    /// <summary>Whether a request for <paramref name="host"/> and <paramref name="path"/> is this group's.</summary>
    public bool Matches(string host, string path)
    {
        var hostMatches = Options.Host is not { Length: > 0 } rule
            || (rule.StartsWith("*.", StringComparison.Ordinal)
                ? host.EndsWith(rule[1..], StringComparison.OrdinalIgnoreCase) && host.Length > rule.Length - 1
                : host.Equals(rule, StringComparison.OrdinalIgnoreCase));
        var prefix = Options.PathPrefix;
        var pathMatches = prefix == "/" || path.Equals(prefix.TrimEnd('/'), StringComparison.Ordinal)
            || path.StartsWith(prefix.EndsWith('/') ? prefix : prefix + "/", StringComparison.Ordinal);
        return hostMatches && pathMatches;
    }

    /// <summary>Whether a health check answered with <paramref name="status"/> passes.</summary>
    public bool IsSuccess(int status) => _successCodes.Exists(r => status >= r.From && status <= r.To);

    /// <summary>
    /// The group a request on a listener goes to: rules with a host before those without, then the
    /// longest path prefix first; null when none matches.
    /// </summary>
    public static TargetGroup? Route(IEnumerable<TargetGroup> listenerGroups, string host, string path) =>
        listenerGroups
            .OrderByDescending(g => g.Options.Host is { Length: > 0 })
            .ThenByDescending(g => g.Options.PathPrefix.TrimEnd('/').Length)
            .FirstOrDefault(g => g.Matches(host, path));

    private static List<(int From, int To)> ParseSuccessCodes(string codes, string where)
    {
        var ranges = new List<(int, int)>();
        foreach (var part in codes.Split(',', StringSplitOptions.TrimEntries))
        {
            var bounds = part.Split('-', StringSplitOptions.TrimEntries);
            Require(bounds.Length is 1 or 2 && bounds.All(b => int.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 200 and <= 499),
                $"{where}:SuccessCodes must be HTTP codes from 200 to 499, as 200, 200,204 or 200-299; not '{codes}'");
            var from = int.Parse(bounds[0], CultureInfo.InvariantCulture);
            var to = int.Parse(bounds[^1], CultureInfo.InvariantCulture);
            Require(from <= to, $"{where}:SuccessCodes range {part} is backwards");
            ranges.Add((from, to));
        }

        return ranges;
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^(\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")]
    private static partial Regex HostPattern();
}
