namespace Registry.Security.Policies;

/// <summary>Who is asking: an IAM user or role session. Anonymous callers have none.</summary>
/// <param name="Arn">The principal's ARN, e.g. <c>arn:aws:iam::123456789012:user/alice</c>.</param>
/// <param name="Account">The 12-digit account the principal belongs to.</param>
/// <param name="RoleArn">For a role session, the role's own ARN, which policies name.</param>
public sealed record Principal(string Arn, string Account, string? RoleArn = null);

/// <summary>
/// A request as policies see it: the principal, the action, the resource, and the condition keys
/// (names compare case-insensitively, as in IAM; a key may have several values).
/// </summary>
public sealed class RequestContext
{
    private readonly Dictionary<string, IReadOnlyList<string>> _keys = new(StringComparer.OrdinalIgnoreCase);

    public RequestContext(Principal? principal, string action, string resource)
    {
        Principal = principal;
        Action = action;
        Resource = resource;
        if (principal is not null)
        {
            Set("aws:PrincipalArn", principal.RoleArn ?? principal.Arn);
            Set("aws:PrincipalAccount", principal.Account);
            var userMarker = $"arn:aws:iam::{principal.Account}:user/";
            if (principal.Arn.StartsWith(userMarker, StringComparison.Ordinal))
            {
                var path = principal.Arn[userMarker.Length..];
                Set("aws:username", path[(path.LastIndexOf('/') + 1)..]);
                Set("aws:PrincipalType", "User");
            }
            else
            {
                Set("aws:PrincipalType", principal.RoleArn is not null ? "AssumedRole" : "Account");
            }
        }
        else
        {
            Set("aws:PrincipalType", "Anonymous");
        }
    }

    /// <summary>Null for an anonymous caller.</summary>
    public Principal? Principal { get; }

    /// <summary>The action, e.g. <c>ecr:BatchGetImage</c>.</summary>
    public string Action { get; }

    /// <summary>The resource ARN, e.g. <c>arn:aws:ecr:us-east-1:123456789012:repository/team/app</c>.</summary>
    public string Resource { get; }

    public RequestContext Set(string key, params IReadOnlyList<string> values)
    {
        _keys[key] = values;
        return this;
    }

    /// <summary>Sets aws:SourceIp, aws:SecureTransport, aws:CurrentTime and aws:EpochTime.</summary>
    public RequestContext WithRequest(System.Net.IPAddress? sourceIp, bool secureTransport, DateTimeOffset now)
    {
        if (sourceIp is not null)
        {
            Set("aws:SourceIp", (sourceIp.IsIPv4MappedToIPv6 ? sourceIp.MapToIPv4() : sourceIp).ToString());
        }

        Set("aws:SecureTransport", secureTransport ? "true" : "false");
        Set("aws:CurrentTime", now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
        Set("aws:EpochTime", now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
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

    public IReadOnlyList<string>? Get(string key) => _keys.TryGetValue(key, out var values) ? values : null;
}
