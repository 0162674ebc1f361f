using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Registry.Core.Errors;

namespace Registry.Auth;

/// <summary>The outcome of an access check on a <c>/v2</c> request.</summary>
internal readonly record struct AccessDecision(bool Allowed, OciError? Error, string? Challenge)
{
    public static readonly AccessDecision Allow = new(true, null, null);
}

/// <summary>
/// Authenticates a <c>/v2</c> request (Bearer token or Basic credentials) and checks it may take the
/// actions the endpoint needs. Failures carry the Docker token flow's challenge, so clients know to
/// fetch a token with the right scope.
/// </summary>
internal sealed class RegistryAccess(IRegistryAuthorizer authorizer, IOptions<AuthOptions> options)
{
    public const string PolicyScheme = "Registry";

    /// <param name="context">The request; its user is set to the authenticated principal.</param>
    /// <param name="required">What the endpoint needs, or null when any authenticated caller may use it (<c>GET /v2/</c>).</param>
    public async Task<AccessDecision> CheckAsync(HttpContext context, AccessScope? required)
    {
        var result = await context.AuthenticateAsync(PolicyScheme);
        if (result.Failure is not null)
        {
            return Challenge(context, required, new OciError(OciErrorCode.Unauthorized, "authentication required", result.Failure.Message), invalidToken: true);
        }

        var user = result.Principal ?? new ClaimsPrincipal(new ClaimsIdentity());
        context.User = user;
        var isToken = result.Succeeded && result.Ticket.AuthenticationScheme == JwtBearerDefaults.AuthenticationScheme;

        if (required is null)
        {
            return user.Identity?.IsAuthenticated == true || options.Value.AnonymousPull
                ? AccessDecision.Allow
                : Challenge(context, null, new OciError(OciErrorCode.Unauthorized, "authentication required"), invalidToken: false);
        }

        var granted = isToken
            ? TokenIssuer.ReadAccess(user).Where(s => s.Type == required.Type && s.Name == required.Name).SelectMany(s => s.Actions).ToHashSet(StringComparer.Ordinal)
            : (await authorizer.GrantAsync(user, required, context.RequestAborted)).ToHashSet(StringComparer.Ordinal);
        if (required.Actions.All(a => granted.Contains(a) || granted.Contains("*")))
        {
            return AccessDecision.Allow;
        }

        // A token without the needed scope is answered with a fresh challenge naming that scope;
        // an identity that is simply not allowed is denied.
        if (isToken || user.Identity?.IsAuthenticated != true)
        {
            return Challenge(context, required, new OciError(OciErrorCode.Unauthorized, "authentication required", required.ToString()), invalidToken: false, insufficientScope: isToken);
        }

        return new AccessDecision(false, new OciError(OciErrorCode.Denied, "requested access to the resource is denied", required.ToString()), null);
    }

    private AccessDecision Challenge(HttpContext context, AccessScope? scope, OciError error, bool invalidToken, bool insufficientScope = false)
    {
        var realm = options.Value.Realm is { Length: > 0 } configured ? configured : $"{context.Request.Scheme}://{context.Request.Host}/token";
        var challenge = $"Bearer realm=\"{realm}\",service=\"{options.Value.Service}\"";
        if (scope is not null)
        {
            challenge += $",scope=\"{scope}\"";
        }

        if (insufficientScope)
        {
            challenge += ",error=\"insufficient_scope\"";
        }
        else if (invalidToken)
        {
            challenge += ",error=\"invalid_token\"";
        }

        return new AccessDecision(false, error, challenge);
    }
}
