using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Registry.Core.Errors;
using Registry.Iam;
using Registry.Security.Policies;

namespace Registry.Auth;

/// <summary>The outcome of an access check on a <c>/v2</c> request.</summary>
internal readonly record struct AccessDecision(bool Allowed, OciError? Error, string? Challenge)
{
    public static readonly AccessDecision Allow = new(true, null, null);
}

/// <summary>
/// Authenticates a request (Bearer token or Basic credentials) and authorizes it as the ECR action it
/// performs, through the policies (<see cref="PolicyAuthorizer"/>). A token must also carry the
/// token-flow scope of the request. Failures carry the Docker token flow's challenge, so clients
/// know to fetch a token with the right scope.
/// </summary>
internal sealed class RegistryAccess(PolicyAuthorizer policies, IOptions<AuthOptions> options)
{
    public const string PolicyScheme = "Registry";

    /// <param name="context">The request; its user is set to the authenticated principal.</param>
    /// <param name="required">The token-flow scope the request needs, or null when any authenticated caller may make it (<c>GET /v2/</c>).</param>
    /// <param name="action">The ECR action the request performs (<c>ecr:BatchGetImage</c>), checked against the policies; null with a null scope.</param>
    public async Task<AccessDecision> CheckAsync(HttpContext context, AccessScope? required, string? action)
    {
        var result = await context.AuthenticateAsync(PolicyScheme);
        if (result.Failure is not null)
        {
            return Challenge(context, required, new OciError(OciErrorCode.Unauthorized, "authentication required", result.Failure.Message), invalidToken: true);
        }

        var user = result.Principal ?? new ClaimsPrincipal(new ClaimsIdentity());
        context.User = user;
        var isToken = result.Succeeded && result.Ticket.AuthenticationScheme == JwtBearerDefaults.AuthenticationScheme;

        if (required is null || action is null)
        {
            return user.Identity?.IsAuthenticated == true
                ? AccessDecision.Allow
                : Challenge(context, null, new OciError(OciErrorCode.Unauthorized, "authentication required"), invalidToken: false);
        }

        var inScope = !isToken || TokenIssuer.ReadAccess(user)
            .Where(s => s.Type == required.Type && s.Name == required.Name)
            .SelectMany(s => s.Actions)
            .Any(a => required.Actions.Contains(a) || a == "*");
        var repository = required.Type == "repository" ? required.Name : null;
        if (inScope && await policies.DecideAsync(user, action, repository, context) == Decision.Allow)
        {
            return AccessDecision.Allow;
        }

        // A token without the needed scope, or no identity at all, is answered with a fresh challenge
        // naming that scope; an identity the policies do not allow is denied.
        var anonymous = user.Identity?.IsAuthenticated != true || string.IsNullOrEmpty(user.Identity.Name);
        if (!inScope || anonymous)
        {
            return Challenge(context, required, new OciError(OciErrorCode.Unauthorized, "authentication required", required.ToString()), invalidToken: false, insufficientScope: isToken);
        }

        return new AccessDecision(false, new OciError(OciErrorCode.Denied, "requested access to the resource is denied", $"{action} on {required.Name}"), null);
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
