using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Data;
using Registry.Iam;
using Registry.Security.Secrets;
using Registry.Security.SigV4;

namespace Registry.AwsApi;

/// <summary>
/// Verifies AWS Signature V4 on the JSON APIs against stored access keys: the scope must name this
/// registry's region and the service, <c>X-Amz-Date</c> must be within 15 minutes of now (AWS's
/// window). A signature that covers <c>amz-sdk-invocation-id</c> (the SDKs' unique id per call, and
/// with <c>amz-sdk-request</c> per attempt) is accepted once: a replay inside the window is refused.
/// Signatures without it cannot tell a replay from a second identical call in the same second (the
/// AWS CLI in Debian signs only content-type, host, x-amz-date and x-amz-target), so those are
/// accepted again, as AWS itself does.
/// </summary>
internal sealed class SigV4Authenticator(
    IDbContextFactory<RegistryDbContext> dbFactory,
    SecretSealer secrets,
    RoleSessions roleSessions,
    IOptions<AwsOptions> aws,
    TimeProvider clock)
{
    public static readonly TimeSpan MaxSkew = TimeSpan.FromMinutes(15);

    private const string InvocationIdHeader = "amz-sdk-invocation-id";

    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private DateTimeOffset _nextSweep;

    /// <summary>The user the request is signed by; throws <see cref="AwsApiException"/> naming what is wrong otherwise.</summary>
    public async Task<ClaimsPrincipal> AuthenticateAsync(HttpContext context, byte[] body, string service)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            throw new AwsApiException("MissingAuthenticationTokenException", "Missing Authentication Token", 403);
        }

        if (!SigV4Authorization.TryParse(header, out var authorization, out var problem))
        {
            throw new AwsApiException("IncompleteSignatureException", problem);
        }

        var settings = aws.Value;
        if (authorization!.Service != service || authorization.Region != settings.Region)
        {
            throw new AwsApiException("InvalidSignatureException", $"Credential should be scoped to a valid region ('{settings.Region}') and service ('{service}'), not '{authorization.Region}/{authorization.Service}'.");
        }

        var amzDate = context.Request.Headers["X-Amz-Date"].ToString();
        if (!DateTimeOffset.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var signedAt) || amzDate[..8] != authorization.Date)
        {
            throw new AwsApiException("IncompleteSignatureException", "X-Amz-Date must be yyyyMMdd'T'HHmmss'Z' and on the credential's date");
        }

        if (!authorization.SignedHeaders.Contains("host") || !authorization.SignedHeaders.Contains("x-amz-date"))
        {
            throw new AwsApiException("IncompleteSignatureException", "SignedHeaders must include host and x-amz-date");
        }

        var now = clock.GetUtcNow();
        if (signedAt < now - MaxSkew)
        {
            throw new AwsApiException("InvalidSignatureException", $"Signature expired: {amzDate} is now earlier than {(now - MaxSkew).UtcDateTime:yyyyMMdd'T'HHmmss'Z'}", 403);
        }

        if (signedAt > now + MaxSkew)
        {
            throw new AwsApiException("InvalidSignatureException", $"Signature not yet current: {amzDate} is still later than {(now + MaxSkew).UtcDateTime:yyyyMMdd'T'HHmmss'Z'}", 403);
        }

        var sessionToken = context.Request.Headers["X-Amz-Security-Token"].ToString();
        var session = sessionToken.Length > 0 ? OpenSession(authorization.AccessKeyId, sessionToken) : null;
        var (userName, secret) = session is not null ? (session.PrincipalName, session.Secret) : await FindKeyAsync(authorization.AccessKeyId, context.RequestAborted);
        var payloadHash = SigV4Signature.Hex(SHA256.HashData(body));
        if (context.Request.Headers["X-Amz-Content-Sha256"].ToString() is { Length: > 0 } claimed && claimed != payloadHash)
        {
            throw new AwsApiException("InvalidSignatureException", "X-Amz-Content-Sha256 does not match the request body", 403);
        }

        var headers = context.Request.Headers
            .SelectMany(h => h.Value.Select(v => (Name: h.Key.ToLowerInvariant(), Value: v ?? "")))
            .ToLookup(h => h.Name, h => h.Value, StringComparer.Ordinal);
        var canonical = SigV4Signature.CanonicalRequest(
            context.Request.Method, context.Request.PathBase + context.Request.Path.ToUriComponent(), context.Request.QueryString.Value?.TrimStart('?') ?? "",
            headers, authorization.SignedHeaders, payloadHash);
        var expected = SigV4Signature.Signature(
            SigV4Signature.SigningKey(secret, authorization.Date, authorization.Region, authorization.Service),
            SigV4Signature.StringToSign(amzDate, authorization.Scope, canonical));
        if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(expected), System.Text.Encoding.ASCII.GetBytes(authorization.Signature)))
        {
            throw new AwsApiException("InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.", 403);
        }

        if (authorization.SignedHeaders.Contains(InvocationIdHeader) && !_seen.TryAdd(authorization.Signature, signedAt + MaxSkew))
        {
            throw new AwsApiException("InvalidSignatureException", "This request has already been received (a replayed signature).", 403);
        }

        SweepSeen(now);
        Claim[] claims = session is null
            ? [new Claim(ClaimTypes.Name, userName), new Claim("access_key_id", authorization.AccessKeyId)]
            : [new Claim(ClaimTypes.Name, userName), new Claim("access_key_id", authorization.AccessKeyId), new Claim(SessionExpiresClaim, session.Expiration.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture))];
        return new ClaimsPrincipal(new ClaimsIdentity(claims, "SigV4", ClaimTypes.Name, ClaimTypes.Role));
    }

    /// <summary>When the role session a request is signed by ends (unix seconds); absent for users' keys.</summary>
    public const string SessionExpiresClaim = "session_expires";

    /// <summary>A role session's temporary credentials (task roles), from the token alone.</summary>
    private RoleSession OpenSession(string accessKeyId, string sessionToken) =>
        roleSessions.Open(accessKeyId, sessionToken, out var expired) is { } session ? session
        : expired ? throw new AwsApiException("ExpiredTokenException", "The security token included in the request is expired", 403)
        : throw new AwsApiException("UnrecognizedClientException", "The security token included in the request is invalid.", 403);

    private async Task<(string UserName, string Secret)> FindKeyAsync(string accessKeyId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var key = await (from k in db.AccessKeys
                         join u in db.Users on k.UserId equals u.Id
                         where k.Id == accessKeyId && k.Status == "Active"
                         select new { u.Name, k.SealedSecret }).FirstOrDefaultAsync(cancellationToken);
        if (key is null)
        {
            throw new AwsApiException("UnrecognizedClientException", "The security token included in the request is invalid.", 403);
        }

        try
        {
            return (key.Name, secrets.Open(key.SealedSecret, accessKeyId));
        }
        catch (CryptographicException)
        {
            // A sealed secret that does not open (another secrets key): the key cannot sign anything here.
            throw new AwsApiException("UnrecognizedClientException", "The security token included in the request is invalid.", 403);
        }
    }

    /// <summary>Forgets signatures whose window has passed, at most once a minute.</summary>
    private void SweepSeen(DateTimeOffset now)
    {
        if (now < _nextSweep)
        {
            return;
        }

        _nextSweep = now + TimeSpan.FromMinutes(1);
        foreach (var (signature, expires) in _seen)
        {
            if (expires < now)
            {
                _seen.TryRemove(signature, out _);
            }
        }
    }
}
