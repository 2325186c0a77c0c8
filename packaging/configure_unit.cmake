# Run by `cmake --install` (install(SCRIPT) in CMakeLists.txt): writes
# volley.service from volley.service.in with the paths of the prefix being
# installed to. CMAKE_INSTALL_PREFIX here is the --prefix given to
# cmake --install (without DESTDIR), which is where the files will live.
foreach(dir BINDIR DOCDIR)
  if(IS_ABSOLUTE "${VOLLEY_INSTALL_${dir}}")
    set(VOLLEY_${dir} "${VOLLEY_INSTALL_${dir}}")
  else()
    set(VOLLEY_${dir} "${CMAKE_INSTALL_PREFIX}/${VOLLEY_INSTALL_${dir}}")
  endif()
endforeach()
# As GNUInstallDirs: prefix /usr keeps its configuration in /etc.
if(IS_ABSOLUTE "${VOLLEY_INSTALL_SYSCONFDIR}")
  set(VOLLEY_SYSCONFDIR "${VOLLEY_INSTALL_SYSCONFDIR}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(VOLLEY_SYSCONFDIR "/etc")
else()
  set(VOLLEY_SYSCONFDIR "${CMAKE_INSTALL_PREFIX}/${VOLLEY_INSTALL_SYSCONFDIR}")
endif()
configure_file("${VOLLEY_UNIT_IN}" "${VOLLEY_UNIT_OUT}" @ONLY)
