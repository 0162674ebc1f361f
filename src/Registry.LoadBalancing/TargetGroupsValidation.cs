using Microsoft.Extensions.Options;

namespace Registry.LoadBalancing;

/// <summary>Refuses to start with target groups that could not work, saying which setting is wrong.</summary>
public sealed class TargetGroupsValidation : IValidateOptions<LoadBalancerOptions>
{
    public ValidateOptionsResult Validate(string? name, LoadBalancerOptions options)
    {
        try
        {
            TargetGroups.From(options);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail(e.Message);
        }
    }
}
