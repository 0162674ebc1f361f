using System.Globalization;
using System.Net;

namespace Registry.Security.Policies;

/// <summary>Who is asking: an IAM user or role session. Anonymous callers have none.</summary>
/// <param name="Arn">The principal's ARN, e.g. <c>arn:aws:iam::123456789012:user/alice</c>.</param>
/// <param name="Account">The 12-digit account the principal belongs to.</param>
/// <param name="RoleArn">For a role session, the role's own ARN, which policies name.</param>
public sealed record Principal(string Arn, string Account, string? RoleArn = null);

/// <summary>
/// A request as policies see it: the principal, the action, the resource, and the condition keys
/// (names compare case-insensitively, as in IAM; a key may have several values). The global keys are
/// worked out only when a condition asks for them, so a request no condition looks at costs no formatting.
/// </summary>
public sealed class RequestContext(Principal? principal, string action, string resource)
{
    private Dictionary<string, IReadOnlyList<string>>? _keys;
    private IPAddress? _sourceIp;
    private bool? _secureTransport;
    private DateTimeOffset? _now;

    /// <summary>Null for an anonymous caller.</summary>
    public Principal? Principal { get; } = principal;

    /// <summary>The action, e.g. <c>ecr:BatchGetImage</c>.</summary>
    public string Action { get; } = action;

    /// <summary>The resource ARN, e.g. <c>arn:aws:ecr:us-east-1:123456789012:repository/team/app</c>.</summary>
    public string Resource { get; } = resource;

    public RequestContext Set(string key, params IReadOnlyList<string> values)
    {
        (_keys ??= new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase))[key] = values;
        return this;
    }

    /// <summary>The facts behind aws:SourceIp, aws:SecureTransport, aws:CurrentTime and aws:EpochTime.</summary>
    public RequestContext WithRequest(IPAddress? sourceIp, bool secureTransport, DateTimeOffset now)
    {
        _sourceIp = sourceIp is { IsIPv4MappedToIPv6: true } ? sourceIp.MapToIPv4() : sourceIp;
        _secureTransport = secureTransport;
        _now = now;
        return this;
    }

    /// <summary>Sets aws:ResourceTag/&lt;key&gt; for each tag of the resource.</summary>
    public RequestContext WithResourceTags(IEnumerable<KeyValuePair<string, string>> tags)
    {
        foreach (var (key, value) in tags)
        {
            Set($"aws:ResourceTag/{key}", value);
        }

        return this;
    }

    public IReadOnlyList<string>? Get(string key)
    {
        if (_keys is not null && _keys.TryGetValue(key, out var values))
        {
            return values;
        }

        return Global(key) is { } value ? [value] : null;
    }

    /// <summary>The global condition keys that follow from the principal and the request facts.</summary>
    private string? Global(string key) => key.ToLowerInvariant() switch
    {
        "aws:principalarn" => Principal is null ? null : Principal.RoleArn ?? Principal.Arn,
        "aws:principalaccount" => Principal?.Account,
        "aws:username" => UserName(),
        "aws:principaltype" => Principal is null ? "Anonymous" : UserName() is not null ? "User" : Principal.RoleArn is not null ? "AssumedRole" : "Account",
        "aws:sourceip" => _sourceIp?.ToString(),
        "aws:securetransport" => _secureTransport is { } secure ? (secure ? "true" : "false") : null,
        "aws:currenttime" => _now?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        "aws:epochtime" => _now?.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>The user's name (without path) when the principal is an IAM user.</summary>
    private string? UserName()
    {
        if (Principal is null)
        {
            return null;
        }

        var marker = $"arn:aws:iam::{Principal.Account}:user/";
        if (!Principal.Arn.StartsWith(marker, StringComparison.Ordinal))
        {
            return null;
        }

        var path = Principal.Arn[marker.Length..];
        return path[(path.LastIndexOf('/') + 1)..];
    }
}
