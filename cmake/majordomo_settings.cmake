# Warnings, sanitizers and ccache for the project's own targets.
option(MAJORDOMO_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
# Off when built inside another project: a newer compiler's new warning must not break its build.
option(MAJORDOMO_WERROR "Treat warnings as errors in the project's own code" ${PROJECT_IS_TOP_LEVEL})
option(MAJORDOMO_SANITIZE_THREAD "Build with ThreadSanitizer (a build directory of its own)" OFF)
option(MAJORDOMO_FUZZ "Build the libFuzzer targets in test/fuzz (clang; use a build directory of its own)" OFF)

find_program(MAJORDOMO_CCACHE ccache)
if(MAJORDOMO_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${MAJORDOMO_CCACHE})
endif()

if(MAJORDOMO_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "MAJORDOMO_FUZZ needs clang with libFuzzer, e.g. -DCMAKE_CXX_COMPILER=clang++-16")
    endif()
    if(MAJORDOMO_SANITIZE)
        message(FATAL_ERROR "MAJORDOMO_FUZZ brings its own sanitizers: leave MAJORDOMO_SANITIZE off")
    endif()
    # Coverage feedback and sanitizers in every object; only the fuzz targets link libFuzzer's main.
    add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                        -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
elseif(MAJORDOMO_SANITIZE_THREAD)
    if(MAJORDOMO_SANITIZE)
        message(FATAL_ERROR "ThreadSanitizer cannot be combined with AddressSanitizer: use a build directory of its own")
    endif()
    # -Wno-tsan: g++ warns that TSan does not model the atomic_thread_fence inside Asio's
    # headers; that is Asio's code, and any report it caused would need a commented suppression.
    add_compile_options(-fsanitize=thread -fno-omit-frame-pointer $<$<CXX_COMPILER_ID:GNU>:-Wno-tsan>)
    add_link_options(-fsanitize=thread)
elseif(MAJORDOMO_SANITIZE)
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
