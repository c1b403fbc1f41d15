// zoa — the order-free compile-time policy bundle zoa::policy<Options...>
// SPDX-License-Identifier: MIT
#pragma once

#include <type_traits>

namespace zoa {

/// Axis tags. An axis is an empty struct with `using default_option = ...;` naming the option used when a
/// policy omits that axis. Each area (quant, adapt) declares its axes next to the options for them, e.g.
///     namespace zoa::axis { struct perturbation { using default_option = perturb::segmented_uniform; }; }
/// An option is any type with `using axis = <axis tag>;`.
namespace axis {}

namespace detail {

template <class T, class = void>
struct has_axis : std::false_type {};
template <class T>
struct has_axis<T, std::void_t<typename T::axis>> : std::true_type {};

template <class...>
inline constexpr bool dependent_false = false;

// The axis of an option, or void for a type that is not an option (so one static_assert reports it).
template <class T, class = void>
struct axis_of {
    using type = void;
};
template <class T>
struct axis_of<T, std::void_t<typename T::axis>> {
    using type = typename T::axis;
};
template <class T>
using axis_of_t = typename axis_of<T>::type;

// Number of options in Options... whose axis is Axis.
template <class Axis, class... Options>
inline constexpr int count_axis = (0 + ... + int(std::is_same_v<axis_of_t<Options>, Axis>));

// First option of Options... on Axis, or Axis::default_option (linear fold, no recursion depth issues).
template <class Axis, class... Options>
struct find_option {
    using type = typename Axis::default_option;
};
template <class Axis, class First, class... Rest>
struct find_option<Axis, First, Rest...> {
    using type = std::conditional_t<std::is_same_v<axis_of_t<First>, Axis>, First,
                                    typename find_option<Axis, Rest...>::type>;
};

template <class... Options>
struct all_have_axis : std::bool_constant<(has_axis<Options>::value && ...)> {};

template <class... Options>
struct unique_axes
    : std::bool_constant<((std::is_void_v<axis_of_t<Options>> || count_axis<axis_of_t<Options>, Options...> == 1) &&
                          ...)> {};

}  // namespace detail

/// An order-free bundle of policy options: zoa::policy<zoa::w4a4, zoa::perturb::rademacher>.
/// Omitted axes take their documented defaults; `policy<...>::get<Axis>` is the chosen option.
/// Requires: every option declares `using axis = ...;` and no two options share an axis.
template <class... Options>
struct policy {
    static_assert(detail::all_have_axis<Options...>::value,
                  "zoa::policy: an option is not a zoa policy option (it has no `using axis = ...;`)");
    static_assert(detail::unique_axes<Options...>::value,
                  "zoa::policy: two options set the same axis; keep one option per axis");

    /// The option chosen for Axis (the policy's own or Axis::default_option).
    template <class Axis>
    using get = typename detail::find_option<Axis, Options...>::type;
};

/// The option for Axis in Policy: zoa::policy_get_t<P, zoa::axis::bit_width>.
template <class Policy, class Axis>
using policy_get_t = typename Policy::template get<Axis>;

/// True when T is a zoa::policy<...>.
template <class T>
inline constexpr bool is_policy_v = false;
template <class... Options>
inline constexpr bool is_policy_v<policy<Options...>> = true;

}  // namespace zoa
