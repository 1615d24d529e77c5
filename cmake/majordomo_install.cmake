include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS majordomo majordomo_sim majordomo-sim EXPORT majordomoTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
if(MAJORDOMO_BUILD_CLI)
    install(TARGETS majordomo_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(DIRECTORY include/majordomo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT majordomoTargets NAMESPACE majordomo::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/majordomo)
configure_package_config_file(cmake/majordomoConfig.cmake.in
    ${PROJECT_BINARY_DIR}/majordomoConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/majordomo)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/majordomoConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/majordomoConfig.cmake ${PROJECT_BINARY_DIR}/majordomoConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/majordomo)
