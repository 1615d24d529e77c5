# Warnings, sanitizers and ccache for the project's own targets.
option(MAJORDOMO_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(MAJORDOMO_WERROR "Treat warnings as errors in the project's own code" ON)

find_program(MAJORDOMO_CCACHE ccache)
if(MAJORDOMO_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${MAJORDOMO_CCACHE})
endif()

if(MAJORDOMO_SANITIZE)
    # float-cast-overflow is not part of GCC's -fsanitize=undefined: a double cast out of range is UB too.
    add_compile_options(-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined,float-cast-overflow)
endif()

function(majordomo_project_settings target)
    # g++ 12 reports false maybe-uninitialized warnings inside Boost's variant2 and
    # coroutine frames under the sanitizers (kept as warnings), and a false
    # mismatched-new-delete on Asio's awaitable frame allocator (silenced); at -O3 its
    # stringop-overflow, array-bounds and restrict checks misfire inside libstdc++.
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                             $<$<BOOL:${MAJORDOMO_WERROR}>:-Werror>
                                             $<$<CXX_COMPILER_ID:GNU>:-Wno-error=maybe-uninitialized -Wno-mismatched-new-delete
                                                 -Wno-error=stringop-overflow -Wno-error=array-bounds -Wno-error=restrict>)
    # Keep deprecated Asio/Beast names out of our code without imposing that on users.
    target_compile_definitions(${target} PRIVATE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_NO_DEPRECATED)
    set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
endfunction()
